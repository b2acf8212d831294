import type { Page } from '#contracts/common';
import type { SearchHit } from '#contracts/crm';
import {
  BUILTIN_KIND_TAB,
  BUILTIN_LINKED_KINDS,
  type LinkedKind,
  type LinkedRecord,
  type LinkedRecordQuery,
  type LinkedState,
  type LinkedTab,
} from '#contracts/linked-records';
import { HttpError, notFound } from '../http/errors.ts';
import { may } from '../auth/scopes.ts';
import type { Actor, UnitOfWork } from '../tenancy.ts';

/** A linked_records row as the reads below select it (dates as written, `YYYY-MM-DD`). */
export interface LinkedRow {
  id: string;
  kind: string;
  source: string;
  external_id: string;
  title: string;
  status: string | null;
  state: LinkedState;
  amount: string | null;
  currency: string | null;
  start_date: string | null;
  due_date: string | null;
  end_date: string | null;
  issued_date: string | null;
  url: string | null;
  fields: Record<string, unknown>;
  company_id: string | null;
  contact_id: string | null;
  deal_id: string | null;
  source_updated_at: Date;
  created_at: Date;
  updated_at: Date;
  updated_key: string;
  version: number;
  tab: LinkedTab;
}

/** Every column, dates as text (no time zone shift), and the tab of the row's kind. */
export const LINKED_COLUMNS = `r.id, r.kind, r.source, r.external_id, r.title, r.status, r.state, r.amount::text as amount,
  r.currency, to_char(r.start_date, 'YYYY-MM-DD') as start_date, to_char(r.due_date, 'YYYY-MM-DD') as due_date,
  to_char(r.end_date, 'YYYY-MM-DD') as end_date, to_char(r.issued_date, 'YYYY-MM-DD') as issued_date, r.url,
  r.fields, r.company_id, r.contact_id, r.deal_id, r.source_updated_at, r.created_at, r.updated_at,
  r.updated_at::text as updated_key, r.version,
  coalesce(k.tab, case r.kind when 'project' then 'projects' when 'invoice' then 'invoices' else 'production' end) as tab`;
export const LINKED_FROM = `linked_records r left join linked_record_kinds k on k.key = r.kind`;

const iso = (d: Date) => new Date(d).toISOString();
/** A text[] literal: kind keys are `[a-z0-9_]` only, so nothing needs quoting. */
const kindArray = (keys: readonly string[]) => `{${keys.join(',')}}`;

export const mapLinked = (r: LinkedRow): LinkedRecord => ({
  id: r.id,
  kind: r.kind,
  source: r.source,
  externalId: r.external_id,
  title: r.title,
  status: r.status,
  state: r.state,
  amount: r.amount,
  currency: r.currency,
  startDate: r.start_date,
  dueDate: r.due_date,
  endDate: r.end_date,
  issuedDate: r.issued_date,
  url: r.url,
  fields: r.fields ?? {},
  companyId: r.company_id,
  contactId: r.contact_id,
  dealId: r.deal_id,
  tab: r.tab,
  sourceUpdatedAt: iso(r.source_updated_at),
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

/** The workspace's kinds: the built-in ones, then its own by label. */
export async function kindsOf(uow: UnitOfWork): Promise<LinkedKind[]> {
  const own = (await uow.em.execute(`select id, key, label, tab from linked_record_kinds order by label, key`)) as {
    id: string;
    key: string;
    label: string;
    tab: LinkedTab;
  }[];
  const builtin = BUILTIN_LINKED_KINDS.map((key) => ({
    id: null,
    key,
    label: key === 'production_job' ? 'Production job' : key[0]!.toUpperCase() + key.slice(1),
    tab: BUILTIN_KIND_TAB[key],
    builtin: true,
  }));
  return [...builtin, ...own.map((k) => ({ ...k, builtin: false }))];
}

/** The tab of a kind the workspace has, or 400 `unknown_kind`. */
export async function tabOfKind(uow: UnitOfWork, kind: string): Promise<LinkedTab> {
  const found = (await kindsOf(uow)).find((k) => k.key === kind);
  if (!found)
    throw new HttpError(400, 'unknown_kind', `No linked record kind "${kind}" in this workspace`, {
      kind: 'not a kind of this workspace (Settings > Linked records)',
    });
  return found.tab;
}

/** The kinds the actor's token may read (every kind for a member signed in). */
export async function readableKinds(uow: UnitOfWork, actor: Actor): Promise<LinkedKind[]> {
  return (await kindsOf(uow)).filter((k) => may(actor, 'linked', 'read', k.key));
}

export async function findLinkedRow(uow: UnitOfWork, id: string): Promise<LinkedRow> {
  const [row] = (await uow.em.execute(`select ${LINKED_COLUMNS} from ${LINKED_FROM} where r.id = ?`, [id])) as
    LinkedRow[] | [];
  if (!row || !may(uow.actor, 'linked', 'read', row.kind)) throw notFound('Linked record');
  return row;
}

const CURSOR_VALUE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const invalidCursor = () => new HttpError(400, 'invalid_cursor', 'The cursor is not valid for this list');

function readCursor(cursor: string): [string, string] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (
    !Array.isArray(values) ||
    values.length !== 2 ||
    typeof values[0] !== 'string' ||
    typeof values[1] !== 'string' ||
    !CURSOR_VALUE.test(values[0]) ||
    !UUID.test(values[1])
  )
    throw invalidCursor();
  return values as [string, string];
}

/**
 * Linked records, most recently changed first, of the kinds the actor may read: of a company (with those of its
 * contacts and deals), a contact, or a deal; of a kind, a tab, a state. Keyset pages on (updated_at, id).
 */
export async function listLinked(uow: UnitOfWork, q: LinkedRecordQuery): Promise<Page<LinkedRecord>> {
  const kinds = (await readableKinds(uow, uow.actor)).map((k) => k.key);
  const where = ['r.kind = any(?::text[])'];
  const params: unknown[] = [kindArray(kinds)];
  const add = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (q.companyId) await exists(uow, 'companies', q.companyId, 'Company');
  if (q.contactId) await exists(uow, 'contacts', q.contactId, 'Contact');
  if (q.dealId) await exists(uow, 'deals', q.dealId, 'Deal');
  if (q.companyId) add('r.company_id = ?', q.companyId);
  if (q.contactId) add('r.contact_id = ?', q.contactId);
  if (q.dealId) add('r.deal_id = ?', q.dealId);
  if (q.kind) add('r.kind = ?', q.kind);
  if (q.state) add('r.state = ?', q.state);
  if (q.cursor) {
    const [at, id] = readCursor(q.cursor);
    add('(r.updated_at, r.id) < (?::timestamptz, ?::uuid)', at, id);
  }
  const tabClause = q.tab ? `where x.tab = ?` : '';
  if (q.tab) params.push(q.tab);
  params.push(q.limit + 1);
  const rows = (await uow.em.execute(
    `select * from (select ${LINKED_COLUMNS} from ${LINKED_FROM} where ${where.join(' and ')}) x ${tabClause}
      order by x.updated_at desc, x.id desc limit ?`,
    params,
  )) as LinkedRow[];
  const more = rows.length > q.limit;
  const items = rows.slice(0, q.limit);
  const last = items.at(-1);
  return {
    items: items.map(mapLinked),
    nextCursor: more && last ? Buffer.from(JSON.stringify([last.updated_key, last.id])).toString('base64url') : null,
  };
}

async function exists(uow: UnitOfWork, table: 'companies' | 'contacts' | 'deals', id: string, what: string) {
  const [row] = (await uow.em.execute(`select 1 from ${table} where id = ?`, [id])) as unknown[];
  if (!row) throw notFound(what);
}

/**
 * The open (active or pending) linked records of a company for full-context, soonest due first, per card tab; a tab
 * of which the actor may read no kind is absent (full-context then omits its list).
 */
export async function openOfCompany(
  uow: UnitOfWork,
  companyId: string,
): Promise<Partial<Record<LinkedTab, LinkedRecord[]>>> {
  const readable = await readableKinds(uow, uow.actor);
  const out: Partial<Record<LinkedTab, LinkedRecord[]>> = {};
  for (const k of readable) out[k.tab] = [];
  if (!readable.length) return out;
  const rows = (await uow.em.execute(
    `select ${LINKED_COLUMNS} from ${LINKED_FROM}
      where r.company_id = ? and r.kind = any(?::text[]) and r.state in ('active', 'pending')
      order by r.due_date asc nulls last, r.updated_at desc limit 300`,
    [companyId, kindArray(readable.map((k) => k.key))],
  )) as LinkedRow[];
  for (const row of rows) out[row.tab]?.push(mapLinked(row));
  return out;
}

/** Search hits of linked records (title, external id, source), of the kinds the actor may read, best first. */
export async function searchLinked(uow: UnitOfWork, tsquery: string, limit: number): Promise<SearchHit[]> {
  const kinds = (await readableKinds(uow, uow.actor)).map((k) => k.key);
  if (!kinds.length) return [];
  const rows = (await uow.em.execute(
    `select ${LINKED_COLUMNS}, ts_rank(r.search, q) as rank
       from ${LINKED_FROM}, to_tsquery('simple', ?) q
      where r.search @@ q and r.kind = any(?::text[])
      order by rank desc, r.updated_at desc limit ?`,
    [tsquery, kindArray(kinds), limit],
  )) as (LinkedRow & { rank: number })[];
  return rows.map(linkedHit);
}

/** A linked record found by search, as a hit. */
export const linkedHit = (r: LinkedRow & { rank: number }): SearchHit => ({
  type: 'linked_record' as const,
  id: r.id,
  title: r.title,
  subtitle: [r.kind, r.external_id, r.status].filter(Boolean).join(' · '),
  companyId: r.company_id,
  rank: Number(r.rank),
  amount: r.amount !== null && r.currency ? { value: r.amount, currency: r.currency } : null,
  tab: r.tab,
});
