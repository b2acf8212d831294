/** Conversions between records and the text that form controls hold. */
import { tick } from 'svelte';
import { ApiError } from '#lib/api.ts';
import { t } from '#lib/i18n/index.svelte.ts';
import type { Address } from '#contracts/crm';

export interface AddressForm {
  street: string;
  city: string;
  postalCode: string;
  province: string;
  country: string;
}

export function toAddressForm(a: Address | null | undefined): AddressForm {
  return {
    street: a?.street ?? '',
    city: a?.city ?? '',
    postalCode: a?.postalCode ?? '',
    province: a?.province ?? '',
    country: a?.country ?? '',
  };
}

/** Only the parts filled in; `null` when none is. */
export function fromAddressForm(f: AddressForm): Address | null {
  const out: Address = {};
  for (const [key, value] of Object.entries(f) as [keyof Address, string][]) {
    if (value.trim()) out[key] = value.trim();
  }
  return Object.keys(out).length ? out : null;
}

/** `null` for an empty input (clears the stored value). */
export const textOrNull = (v: string): string | null => (v.trim() ? v.trim() : null);

export const tagsFrom = (v: string): string[] => [
  ...new Set(
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ),
];

/** "1.250.000,50", "1250000.50", "€ 45 000" -> "1250000.50", "45000"; `null` when empty. */
export function amountOrNull(v: string): string | null {
  let s = v.replace(/[^\d.,-]/g, '');
  if (!s) return null;
  const lastComma = s.lastIndexOf(',');
  const lastDot = s.lastIndexOf('.');
  if (lastComma > lastDot) s = s.replace(/\./g, '').replace(',', '.');
  else s = s.replace(/,/g, '');
  return s;
}

/** Leaves out keys whose value is `undefined`. */
export function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface FieldIssue {
  reason: string;
  limit?: number;
}

/** A field's problem in the interface's language, from the reason the server gave (its own text otherwise). */
export function fieldMessage(issue: FieldIssue | undefined, serverText: string): string {
  const m = t().importing.fieldErrors;
  if (!issue) return serverText;
  if (issue.reason === 'too_long' && issue.limit) return m.too_long(issue.limit);
  const text = m[issue.reason as Exclude<keyof typeof m, 'too_long' | 'summary'>];
  return typeof text === 'string' ? text : serverText;
}

/** The message and per-field messages of a failed save, as the server wrote them. */
export function formErrors(err: unknown, fallback: string): { message: string; fields: Record<string, string> } {
  if (err instanceof ApiError) return { message: err.message, fields: err.fields ?? {} };
  return { message: fallback, fields: {} };
}

/**
 * The message and per-field messages of a failed save, in the interface's language, for a form that shows every
 * field's message under it: the message above then says so, rather than a bare "the request body is not valid".
 */
export function fieldErrors(err: unknown, fallback: string): { message: string; fields: Record<string, string> } {
  if (!(err instanceof ApiError)) return { message: fallback, fields: {} };
  const issues = (err.body?.issues ?? {}) as Record<string, FieldIssue>;
  const fields = Object.fromEntries(
    Object.entries(err.fields ?? {}).map(([key, text]) => [key, fieldMessage(issues[key], text)]),
  );
  return { message: Object.keys(fields).length ? t().importing.fieldErrors.summary : err.message, fields };
}

/** After the messages are drawn: the first field marked invalid gets the focus (and scrolls into a long dialog). */
export async function focusFirstInvalid(form: HTMLElement | undefined): Promise<void> {
  await tick();
  form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
}

/** JSON with object keys sorted, so that two equal values give the same text whatever their key order. */
function stable(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

const same = (a: unknown, b: unknown) => stable(a ?? null) === stable(b ?? null);

/**
 * For an edit, only what differs from the record as loaded (custom fields key by key), so that saving an
 * untouched form changes nothing and the timeline lists only real changes. A new record gets everything.
 */
export function changesOnly(body: Record<string, unknown>, record: object | undefined): Record<string, unknown> {
  if (!record) return body;
  const before = record as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === 'customFields' && value && typeof value === 'object') {
      const old = (before.customFields ?? {}) as Record<string, unknown>;
      const changed = Object.entries(value as Record<string, unknown>).filter(([k, v]) => !same(v, old[k]));
      if (changed.length) out.customFields = Object.fromEntries(changed);
    } else if (!same(value, before[key])) out[key] = value;
  }
  return out;
}
