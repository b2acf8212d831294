/** The grants form of an API token (per family: none, read, or read and write; linked kinds) and back. */
import { TOKEN_FAMILIES, type TokenFamily, type TokenGrant } from '#contracts/auth';

export type Level = 'none' | 'read' | 'write';
export type Levels = Record<TokenFamily, Level>;

export const levelsAll = (level: Level): Levels => Object.fromEntries(TOKEN_FAMILIES.map((f) => [f, level])) as Levels;

/** The highest access granted per family: several linked grants (one per kind) share one level in the form. */
export function levelsOf(grants: readonly TokenGrant[]): Levels {
  const out = levelsAll('none');
  for (const g of grants) if (out[g.family] !== 'write') out[g.family] = g.access;
  return out;
}

/** "invoice, project"; empty when a linked grant names no kind (it covers every kind). */
export function kindsOf(grants: readonly TokenGrant[]): string {
  const linked = grants.filter((g) => g.family === 'linked');
  if (linked.some((g) => g.kind === undefined)) return '';
  return linked.map((g) => g.kind).join(', ');
}

// One grant per chosen family; a linked grant per named kind (none named: every kind).
export function chosenGrants(levels: Levels, kinds: string): TokenGrant[] {
  const named = [
    ...new Set(
      kinds
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    ),
  ];
  return TOKEN_FAMILIES.flatMap((family): TokenGrant[] => {
    const level = levels[family];
    if (level === 'none') return [];
    if (family === 'linked' && named.length) return named.map((kind) => ({ family, access: level, kind }));
    return [{ family, access: level }];
  });
}

/** The kind names the server accepts (contracts/auth.ts), checked before sending so the message sits at its field. */
export const badKind = (grants: readonly TokenGrant[]) =>
  grants.some((x) => x.kind !== undefined && !/^[a-z][a-z0-9_]{0,49}$/.test(x.kind));

const key = (g: TokenGrant) => `${g.family}:${g.kind ?? ''}:${g.access}`;

/** Same grants whatever their order: an unchanged set is not sent again. */
export function sameGrants(a: readonly TokenGrant[], b: readonly TokenGrant[]): boolean {
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}

/** The local day of an expiry, as a date input holds it ('' for none). */
export function dayOf(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The end of the chosen day, in this browser's time zone; null for no expiry. */
export const endOfDay = (day: string): string | null => (day ? new Date(`${day}T23:59:59`).toISOString() : null);
