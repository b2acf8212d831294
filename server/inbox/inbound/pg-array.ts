/** A PostgreSQL array literal; every element quoted, quotes and backslashes escaped. */
export function toPgArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}
