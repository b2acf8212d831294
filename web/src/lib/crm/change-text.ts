/** A record's changes as the timeline says them: "Probability 40 % → 60 %", every value in the interface language. */
import type { RecordType } from '#contracts/common';
import { date, money, number } from '#lib/format.ts';
import { t } from '#lib/i18n/index.svelte.ts';
import { team } from '#lib/team.svelte.ts';
import { customFieldDefs, displayValue } from './custom-fields.svelte.ts';
import { pipelineStages } from './pipeline-stages.svelte.ts';

type Change = { from: unknown; to: unknown };

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const AMOUNT = /^-?\d+(\.\d+)?$/;
const MONEY_FIELDS = new Set(['value', 'annualRevenue']);
const MAX = 60;

const clip = (s: string) => (s.length > MAX ? `${s.slice(0, MAX - 1)}…` : s);

/** Any value whose field is not known: dates, numbers and flags formatted, the rest as text. */
function plain(value: unknown): string {
  const m = t().pipelineStages;
  if (value === null || value === undefined || value === '') return m.empty;
  if (typeof value === 'boolean') return value ? m.yes : m.no;
  if (typeof value === 'number') return number(value);
  if (Array.isArray(value)) return value.length ? clip(value.map(String).join(', ')) : m.empty;
  if (typeof value === 'string' && DAY.test(value)) return date(value);
  if (typeof value === 'object') return clip(JSON.stringify(value));
  return clip(String(value));
}

function fieldValue(key: string, value: unknown, currency: string | null): string {
  const m = t();
  if (value === null || value === undefined || value === '') return m.pipelineStages.empty;
  if (key === 'stage') return pipelineStages.label(String(value));
  if (key === 'probability' && typeof value === 'number') return m.pipelineStages.percent(value);
  if (key === 'assignedTo') return team.nameOf(String(value)) ?? m.timeline.someone;
  if (MONEY_FIELDS.has(key) && AMOUNT.test(String(value)))
    return currency ? money(String(value), currency) : number(String(value));
  const enums: Record<string, Record<string, string>> = {
    type: m.company.types,
    size: m.company.sizes,
    status: { ...m.contact.statuses, ...m.company.statuses },
  };
  const named = enums[key]?.[String(value)];
  return named ?? plain(value);
}

/** Custom fields change as a whole object: one line per value that differs. */
function customChanges(type: RecordType, change: Change): string[] {
  const m = t();
  const from = (change.from ?? {}) as Record<string, unknown>;
  const to = (change.to ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const name of new Set([...Object.keys(from), ...Object.keys(to)])) {
    if (JSON.stringify(from[name] ?? null) === JSON.stringify(to[name] ?? null)) continue;
    const def = customFieldDefs.byType[type].find((d) => d.fieldName === name);
    const show = (v: unknown) =>
      (def ? displayValue(def, v, m.pipelineStages.yes, m.pipelineStages.no) : null) ?? plain(v);
    out.push(m.pipelineStages.change(def?.fieldLabel ?? name, show(from[name]), show(to[name])));
  }
  return out;
}

/** One line per changed field: "Probability 40 % → 60 %"; null when nothing is said. */
export function changeLines(
  type: RecordType,
  changes: Record<string, unknown>,
  recordCurrency: string | null = null,
): string | null {
  const m = t();
  const labels: Record<string, string> = {
    ...m.company.fields,
    ...m.contact.fields,
    timeZone: m.contactZone.timeZone,
    ...m[type].fields,
  };
  const currencyChange = changes.currency as Change | undefined;
  const currency = (currencyChange?.to as string | undefined) ?? recordCurrency;
  const lines: string[] = [];
  for (const [key, raw] of Object.entries(changes)) {
    const change = (raw && typeof raw === 'object' && 'to' in raw ? raw : { from: null, to: raw }) as Change;
    if (key.startsWith('customFields')) {
      lines.push(...customChanges(type, change));
      continue;
    }
    const label = (labels[key] ?? key).replace(/\s*\(%\)$/, '');
    const fromCurrency = (currencyChange?.from as string | undefined) ?? currency;
    lines.push(
      m.pipelineStages.change(label, fieldValue(key, change.from, fromCurrency), fieldValue(key, change.to, currency)),
    );
  }
  return lines.length ? lines.join(' · ') : null;
}
