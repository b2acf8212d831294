import type { z } from 'zod';
import type { ImportProblem } from '#contracts/crm';
import { issueReason, messageReason } from '../http/errors.ts';

/** One CSV row turned into the API's input through the column mapping, and duplicate keys. Pure functions. */

const LIST_FIELDS = new Set(['tags']);
const BOOLEAN_FIELDS = new Set(['isPrimary']);
const NUMBER_FIELDS = new Set(['annualRevenue']);
const ADDRESS = /^(billing|shipping)(Street|City|PostalCode|Province|Country)$/;

export interface MappedRow {
  input: Record<string, unknown>;
  /** The cell each target was fed from, as in the file (for the row's messages). */
  raw: Record<string, string>;
}

/**
 * The cells of one record to the API's input shape, through `mapping` (the target of each column). Only the cells the
 * record has are visited: a wide header over many short lines stays linear.
 */
export function mapRow(mapping: (string | null)[], cells: string[]): MappedRow {
  const input: Record<string, unknown> = {};
  const raw: Record<string, string> = {};
  const customFields: Record<string, unknown> = {};
  for (let i = 0; i < Math.min(mapping.length, cells.length); i++) {
    const key = mapping[i];
    const value = cells[i]!.trim();
    if (!key || value === '') continue;
    raw[key] = value;
    if (key.startsWith('cf.')) {
      customFields[key.slice(3)] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
      continue;
    }
    const address = key.match(ADDRESS);
    if (address) {
      const part = address[2]!.charAt(0).toLowerCase() + address[2]!.slice(1);
      ((input[`${address[1]}Address`] ??= {}) as Record<string, string>)[part] = value;
    } else if (LIST_FIELDS.has(key))
      input[key] = value
        .split(/[;,]/)
        .map((t) => t.trim())
        .filter(Boolean);
    else if (BOOLEAN_FIELDS.has(key)) input[key] = /^(true|yes|y|si|sì|1|x)$/i.test(value);
    else if (NUMBER_FIELDS.has(key)) input[key] = amountOf(value);
    else if (key === 'birthday') input[key] = isoDay(value);
    else input[key] = value;
  }
  if (Object.keys(customFields).length) input.customFields = customFields;
  // A domain is the website when the file has no website of its own.
  if (typeof input.domain === 'string') {
    input.website ??= input.domain.replace(/^@/, '');
    if (!raw.website) raw.website = raw.domain!;
    delete input.domain;
  }
  if (typeof input.fullName === 'string') {
    const [first, ...rest] = input.fullName.split(/\s+/);
    input.firstName ??= first;
    if (rest.length) input.lastName ??= rest.join(' ');
    delete input.fullName;
  }
  return { input, raw };
}

/** "31/03/1980", "31.3.1980" (day first, as in Italy and most of Europe) -> "1980-03-31"; anything else as it is. */
function isoDay(value: string): string {
  const d = value.match(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/);
  return d ? `${d[3]}-${d[2]!.padStart(2, '0')}-${d[1]!.padStart(2, '0')}` : value;
}

/** "€ 1.250.000,50", "1,250,000.50", "48500" -> "1250000.50", "1250000.50", "48500". */
function amountOf(value: string): string {
  let s = value.replace(/[^\d.,-]/g, '');
  const comma = s.lastIndexOf(',');
  const dot = s.lastIndexOf('.');
  if (comma > dot) s = s.replace(/\./g, '').replace(',', '.');
  else s = s.replace(/,/g, '');
  return s || value;
}

/** The import field a request path names: `billingAddress.city` -> `billingCity`, `customFields.x` -> `cf.x`. */
export function targetOf(path: readonly PropertyKey[] | string[]): string {
  const [head, sub] = path.map(String);
  if (head === 'customFields' && sub) return `cf.${sub}`;
  if ((head === 'billingAddress' || head === 'shippingAddress') && sub)
    return `${head.replace('Address', '')}${sub.charAt(0).toUpperCase()}${sub.slice(1)}`;
  return head ?? 'row';
}

/** The raw cell a field came from (a first or last name split from a full name names the full one). */
const cellOf = (raw: Record<string, string>, field: string) =>
  raw[field] ?? (field === 'firstName' || field === 'lastName' ? raw.fullName : undefined);

export function problemsOfIssues(issues: readonly z.core.$ZodIssue[], raw: Record<string, string>): ImportProblem[] {
  const seen = new Set<string>();
  const out: ImportProblem[] = [];
  for (const issue of issues) {
    const field = targetOf(issue.path);
    if (seen.has(field)) continue;
    seen.add(field);
    const { reason, limit } = issueReason(issue);
    out.push(problem(field, reason, cellOf(raw, field), limit));
  }
  return out;
}

export function problemsOfFields(fields: Record<string, string>, raw: Record<string, string>): ImportProblem[] {
  return Object.entries(fields).map(([key, message]) => {
    const field = targetOf(key.split('.'));
    return problem(field, messageReason(message).reason, cellOf(raw, field));
  });
}

const REASONS = new Set<string>([
  'required',
  'too_long',
  'invalid_email',
  'invalid_url',
  'invalid_date',
  'invalid_number',
  'invalid_choice',
  'company_not_found',
]);

export function problem(field: string, reason: string, value?: string, limit?: number): ImportProblem {
  return {
    field,
    reason: (REASONS.has(reason) ? reason : 'invalid') as ImportProblem['reason'],
    ...(value !== undefined ? { value: value.slice(0, 200) } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

const LEGAL_SUFFIXES = new Set(
  (
    'spa srl srls sas snc sapa ss scarl scrl sc coop onlus ltd limited llc llp lp inc incorporated corp corporation ' +
    'co company plc gmbh ag kg ohg ug sa sarl sl slu bv nv oy ab as aps pty sprl spzoo sro'
  ).split(' '),
);

/** "Acme S.p.A.", "ACME spa", "Acmé SpA" -> "acme": case, accents, punctuation and legal suffixes aside. */
export function companyKey(name: string): string {
  const words = name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\./g, '')
    .replace(/&/g, ' and ')
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  while (words.length > 1 && LEGAL_SUFFIXES.has(words.at(-1)!)) words.pop();
  // "Rossi & C. snc": the "and c" left after the suffix is a partnership's formula, not part of the name.
  if (words.length > 2 && words.at(-1) === 'c' && words.at(-2) === 'and') words.splice(-2);
  return words.join(' ');
}

/** `https://www.Acme.com/about` -> `acme.com`; `null` for no or a bad address. */
export function hostKey(website: unknown): string | null {
  if (typeof website !== 'string' || !website) return null;
  try {
    return new URL(website).hostname.toLowerCase().replace(/^www\./, '') || null;
  } catch {
    return null;
  }
}
