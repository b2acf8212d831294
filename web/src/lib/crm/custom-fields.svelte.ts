import { customFields as api } from './api.ts';
import type { RecordType } from '#contracts/common';
import type { CustomFieldDef, CustomValues } from '#contracts/crm';
import { session } from '#lib/session.svelte.ts';
import { date, number } from '#lib/format.ts';

/** The workspace's custom field definitions per record type, loaded on first use. */
class CustomFieldDefs {
  byType = $state<Record<RecordType, CustomFieldDef[]>>({ company: [], contact: [], deal: [] });
  #loaded: Partial<Record<RecordType, string>> = {};

  async ensure(type: RecordType, force = false): Promise<CustomFieldDef[]> {
    const workspace = session.workspace?.id ?? '';
    if (!force && this.#loaded[type] === workspace) return this.byType[type];
    const defs = await api.list(type);
    this.byType[type] = defs;
    this.#loaded[type] = workspace;
    return defs;
  }

  /** After an admin changed the definitions. */
  set(type: RecordType, defs: CustomFieldDef[]): void {
    this.byType[type] = [...defs].sort(
      (a, b) => a.displayOrder - b.displayOrder || a.fieldName.localeCompare(b.fieldName),
    );
    this.#loaded[type] = session.workspace?.id ?? '';
  }
}

export const customFieldDefs = new CustomFieldDefs();

/** A value as a form control holds it: text for inputs, a list for multi-selects, a flag for checkboxes. */
export type FormValue = string | boolean | string[];

export function toFormValues(defs: CustomFieldDef[], values: CustomValues | undefined): Record<string, FormValue> {
  const out: Record<string, FormValue> = {};
  for (const def of defs) {
    const v = values?.[def.fieldName];
    if (def.fieldType === 'boolean') out[def.fieldName] = v === true;
    else if (def.fieldType === 'multiselect') out[def.fieldName] = Array.isArray(v) ? v.map(String) : [];
    else out[def.fieldName] = v === undefined || v === null ? '' : String(v);
  }
  return out;
}

/**
 * What to send as `customFields`: typed values for what is filled in, `null` to clear what was stored and is now
 * empty. On create (`before` undefined) empty fields are left out, so that defaults apply.
 */
export function toPayload(
  defs: CustomFieldDef[],
  form: Record<string, FormValue>,
  before?: CustomValues,
): CustomValues {
  const out: CustomValues = {};
  for (const def of defs) {
    const v = form[def.fieldName];
    const had = before !== undefined && before[def.fieldName] !== undefined;
    let value: unknown;
    if (def.fieldType === 'boolean') value = v === true;
    else if (def.fieldType === 'multiselect') value = Array.isArray(v) && v.length ? v : null;
    else if (typeof v === 'string' && v.trim() !== '')
      value = def.fieldType === 'number' ? Number(v.replace(',', '.')) : v.trim();
    else value = null;
    if (value === null && !had) continue;
    out[def.fieldName] = value;
  }
  return out;
}

/** A stored value for reading: numbers and dates in the interface language (`48.500.000`, `31 mar 2027`). */
export function displayValue(def: CustomFieldDef, value: unknown, yes: string, no: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (def.fieldType === 'boolean') return value ? yes : no;
  if (Array.isArray(value)) return value.length ? value.join(', ') : null;
  if (def.fieldType === 'number' && (typeof value === 'number' || /^-?\d+(\.\d+)?$/.test(String(value))))
    return number(String(value));
  if (def.fieldType === 'date' && typeof value === 'string') return date(value);
  return String(value);
}
