import type { WorkflowConditions } from '#contracts/workflows';

/** A record as conditions read it: its columns by their API names, `customFields`, `tags`, `assignedTo`. */
export type RecordView = Record<string, unknown>;

/** A field's value: `customFields.<key>` reads a custom field, `owner` the record's assignee. */
export function fieldOf(record: RecordView, field: string): unknown {
  if (field === 'owner') return record.assignedTo ?? null;
  if (field.startsWith('customFields.'))
    return ((record.customFields as Record<string, unknown> | undefined) ?? {})[field.slice(13)] ?? null;
  return record[field] ?? null;
}

const isEmpty = (v: unknown) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
const asNumber = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v) : NaN);
/** Dates (YYYY-MM-DD or ISO) compare as instants, other values as numbers. */
const comparable = (v: unknown) => {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) return Date.parse(v);
  return asNumber(v);
};
const same = (a: unknown, b: unknown) => String(a ?? '').toLowerCase() === String(b ?? '').toLowerCase();

/** Whether the record meets the conditions (no rules: always); a rule on a missing record is false. */
export function meets(conditions: WorkflowConditions, record: RecordView | null): boolean {
  if (!conditions.rules.length) return true;
  const results = conditions.rules.map((rule) => {
    if (!record) return false;
    const value = fieldOf(record, rule.field);
    switch (rule.op) {
      case 'empty':
        return isEmpty(value);
      case 'not_empty':
        return !isEmpty(value);
      case 'equals':
        return Array.isArray(value) ? value.some((v) => same(v, rule.value)) : same(value, rule.value);
      case 'not_equals':
        return Array.isArray(value) ? !value.some((v) => same(v, rule.value)) : !same(value, rule.value);
      case 'contains':
        return Array.isArray(value)
          ? value.some((v) => same(v, rule.value))
          : String(value ?? '')
              .toLowerCase()
              .includes(String(rule.value ?? '').toLowerCase());
      case 'greater':
        return comparable(value) > comparable(rule.value);
      case 'less':
        return comparable(value) < comparable(rule.value);
    }
    return false;
  });
  return conditions.match === 'all' ? results.every(Boolean) : results.some(Boolean);
}
