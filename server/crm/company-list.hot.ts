import { RawQueryFragment, type FilterQuery } from '@mikro-orm/core';
import { tenantStatement, type HotReads, type HotStatement } from '../db-hot/hot-reads.ts';
import type { Actor } from '../tenancy.ts';
import { decodeCursor, encodeCursor, invalidCursor } from './list-cursor.ts';

/** A company as the list answers it: the entity's properties, as the ORM would have serialized them. */
export type CompanyItem = Record<string, unknown> & {
  id: string;
  version: number;
  customFields: Record<string, unknown>;
};

interface CompanyRow {
  id: string;
  tenant_id: string;
  /** ISO 8601 to the millisecond, as a JS Date serializes (made by PostgreSQL: no Date parsed and printed again). */
  created_at: string;
  name: string;
  type: string;
  vat_number: string | null;
  tax_code: string | null;
  website: string | null;
  industry: string | null;
  size: string | null;
  annual_revenue: string | null;
  logo_url: string | null;
  billing_address: unknown;
  shipping_address: unknown;
  custom_fields: Record<string, unknown>;
  tags: string[];
  status: string;
  assigned_to: string | null;
  created_by: string | null;
  updated_at: string;
  version: number;
  /** The sort key as the cursor carries it (timestamps to the microsecond, unlike a JS Date). */
  cursor_key: string;
}

const mapCompany = (r: CompanyRow): CompanyItem => ({
  id: r.id,
  tenantId: r.tenant_id,
  createdAt: r.created_at,
  name: r.name,
  type: r.type,
  vatNumber: r.vat_number,
  taxCode: r.tax_code,
  website: r.website,
  industry: r.industry,
  size: r.size,
  annualRevenue: r.annual_revenue,
  logoUrl: r.logo_url,
  billingAddress: r.billing_address,
  shippingAddress: r.shipping_address,
  customFields: r.custom_fields,
  tags: r.tags,
  status: r.status,
  assignedTo: r.assigned_to,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
  version: r.version,
});

const utc = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
/** A timestamp as `Date.prototype.toJSON` writes it (milliseconds, truncated as a Date truncates microseconds). */
const json = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const COLUMNS = `c.id, c.tenant_id, ${json('c.created_at')} as created_at, c.name, c.type, c.vat_number, c.tax_code,
  c.website, c.industry, c.size, c.annual_revenue, c.logo_url, c.billing_address, c.shipping_address, c.custom_fields,
  c.tags, c.status, c.assigned_to, c.created_by, ${json('c.updated_at')} as updated_at, c.version`;
/** The sorts the route offers: column, its SQL type, and the cursor's form of its value. */
const SORTS: Record<string, { column: string; cast: string; key: string }> = {
  name: { column: 'c.name', cast: 'text', key: 'c.name' },
  createdAt: { column: 'c.created_at', cast: 'timestamptz', key: utc('c.created_at') },
  updatedAt: { column: 'c.updated_at', cast: 'timestamptz', key: utc('c.updated_at') },
};

/** The SQL of the custom-field filter the route writes as a raw fragment (crm.routes.ts, `customFieldsContain`). */
const CUSTOM_FIELDS_SQL = '[::alias::].custom_fields @> ?::jsonb';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `mapCompany`'s item written by PostgreSQL, as the answer's JSON text (a numeric travels as a string, as `pg`'s). */
const JSON_COLUMNS = `json_build_object('id', c.id, 'tenantId', c.tenant_id, 'createdAt', ${json('c.created_at')},
  'name', c.name, 'type', c.type, 'vatNumber', c.vat_number, 'taxCode', c.tax_code, 'website', c.website,
  'industry', c.industry, 'size', c.size, 'annualRevenue', c.annual_revenue::text, 'logoUrl', c.logo_url,
  'billingAddress', c.billing_address, 'shippingAddress', c.shipping_address, 'customFields', c.custom_fields,
  'tags', c.tags, 'status', c.status, 'assignedTo', c.assigned_to, 'createdBy', c.created_by,
  'updatedAt', ${json('c.updated_at')}, 'version', c.version)::text as json, c.id`;

export interface CompanyPagePlan {
  statement: HotStatement;
  values: unknown[];
  limit: number;
  /** Whether a cursor's values are among the parameters (a data exception then means a cursor of another list). */
  cursor: boolean;
}

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const onlyKey = (v: unknown, key: string): unknown =>
  isPlain(v) && Reflect.ownKeys(v).length === 1 && key in v ? v[key] : undefined;

/**
 * The filters the company list route makes, as SQL (parameters from $2); null for any other shape, which then
 * goes through the ORM as before.
 */
function filters(where: Record<PropertyKey, unknown>, values: unknown[]): string[] | null {
  const param = (v: unknown, cast: string) => `$${values.push(v) + 1}::${cast}`;
  const sql: string[] = [];
  for (const key of Reflect.ownKeys(where)) {
    const value = where[key];
    if (typeof key === 'symbol') {
      const raw = RawQueryFragment.getKnownFragment(key);
      if (raw?.sql !== CUSTOM_FIELDS_SQL || raw.params.length !== 1 || typeof raw.params[0] !== 'string') return null;
      sql.push(`c.custom_fields @> ${param(raw.params[0], 'jsonb')}`);
    } else if (key === 'name' && typeof onlyKey(value, '$ilike') === 'string') {
      sql.push(`c.name ilike ${param(onlyKey(value, '$ilike'), 'text')}`);
    } else if ((key === 'type' || key === 'status') && typeof value === 'string') {
      sql.push(`c.${key} = ${param(value, 'text')}`);
    } else if (key === 'assignedTo' && typeof value === 'string') {
      sql.push(`c.assigned_to = ${param(value, 'uuid')}`);
    } else if (key === 'tags') {
      const tags = onlyKey(value, '$contains');
      if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) return null;
      sql.push(`c.tags @> ${param(tags, 'text[]')}`);
    } else return null;
  }
  return sql;
}

const statements = new Map<string, HotStatement>();
/** One statement per shape of the query (filters present, sort, first page or not): a bounded set, each prepared once. */
const statementFor = (key: string, make: () => HotStatement): HotStatement => {
  let found = statements.get(key);
  if (!found) statements.set(key, (found = make()));
  return found;
};

/**
 * The company list page as one hot statement, or null when `where` / `orderBy` are not what the route makes.
 * Keyset on (sort key, id), id ascending as the ORM's `findByCursor` did; its cursors (base64url JSON `[value, id]`)
 * are read too. A cursor that does not fit this list is a 400.
 */
export function companyPagePlan(
  where: FilterQuery<Record<string, unknown>>,
  orderBy: Record<string, 'asc' | 'desc'>,
  limit: number,
  cursor: string | undefined,
  shape: 'rows' | 'json' = 'rows',
): CompanyPagePlan | null {
  const sortKeys = Object.keys(orderBy);
  const sort = sortKeys.length === 1 ? SORTS[sortKeys[0]!] : undefined;
  const direction = orderBy[sortKeys[0]!];
  if (!sort || (direction !== 'asc' && direction !== 'desc') || !isPlain(where)) return null;
  const values: unknown[] = [];
  const where_ = filters(where, values);
  if (!where_) return null;
  if (cursor !== undefined) {
    const decoded = decodeCursor(cursor);
    if (!Array.isArray(decoded) || decoded.length !== 2) throw invalidCursor();
    const [at, id] = decoded as unknown[];
    if (typeof at !== 'string' || typeof id !== 'string' || !UUID.test(id)) throw invalidCursor();
    // Each cursor value read once, by a subquery: PostgreSQL then knows it no better when planning for the values than
    // in its generic plan, and keeps that plan (the index's order decides the page anyway). With the bare parameter,
    // a plan made for the value estimated how far along the list it is, always looked cheaper than the generic
    // plan, and a page after the first was planned anew on every call (bench/README.md, session 16).
    const v = `(select $${values.push(at) + 1}::${sort.cast})`;
    const after = `(select $${values.push(id) + 1}::uuid)`;
    // The first comparison alone bounds the index range; the second steps past the cursor's row.
    const [op, strict] = direction === 'asc' ? ['>=', '>'] : ['<=', '<'];
    where_.push(`${sort.column} ${op} ${v} and (${sort.column} ${strict} ${v} or c.id > ${after})`);
  }
  // The page size is written into the statement, not a parameter: a generic plan cannot know a `limit $n` and
  // costs it as a tenth of the table, so PostgreSQL kept planning the statement for its values on every call
  // (0.07 ms alone, 0.14 under load: bench/README.md, session 16). A page size is one of few (the route bounds it).
  if (!Number.isSafeInteger(limit) || limit < 1) return null;
  const rows = ['c.tenant_id = filo_tenant.id', ...where_].join(' and ');
  const sorted = `order by ${sort.column} ${direction}, c.id asc limit ${limit + 1}`;
  // Keyed by what varies (short): the body, its columns and all, is written only the first time. With `json`, each
  // company comes as the answer's JSON beside its cursor's values, for the route to join. (Folded into one text by
  // PostgreSQL, the row after the page dropped by a window's row numbers, a page cost PostgreSQL more CPU than it
  // saved the web node: bench/README.md, session 13.)
  const statement = statementFor(`${shape} ${sortKeys[0]!} ${rows} ${sorted}`, () =>
    tenantStatement(
      `select ${shape === 'json' ? JSON_COLUMNS : COLUMNS}, ${sort.key} as cursor_key from companies c
 where ${rows} ${sorted}`,
    ),
  );
  return { statement, values, limit, cursor: cursor !== undefined };
}

/** Reads a plan made with `shape: 'json'`: the whole page as the answer's JSON text, its items spliced as written. */
export async function companyPageJson(hot: HotReads, actor: Actor, plan: CompanyPagePlan): Promise<string> {
  const rows = await readPlan<{ json: string; id: string; cursor_key: string }>(hot, actor, plan);
  const page = rows.slice(0, plan.limit);
  const last = page.at(-1);
  const next = rows.length > plan.limit && last ? encodeCursor([last.cursor_key, last.id]) : null;
  return `{"items":[${page.map((r) => r.json).join(',')}],"nextCursor":${JSON.stringify(next)}}`;
}

async function readPlan<R extends { id: string; cursor_key: string }>(
  hot: HotReads,
  actor: Actor,
  plan: CompanyPagePlan,
): Promise<R[]> {
  try {
    return await hot.read<R>(actor.tenantId, plan.statement, plan.values);
  } catch (err) {
    // A cursor value the column's type cannot take (a name cursor on a date sort, a forged one): data exceptions.
    if (plan.cursor && /^22/.test(String((err as { code?: unknown }).code))) throw invalidCursor();
    throw err;
  }
}

/** Runs a plan: one round trip, rows mapped straight to the list's items. */
export async function companyPage(
  hot: HotReads,
  actor: Actor,
  plan: CompanyPagePlan,
): Promise<{ items: CompanyItem[]; nextCursor: string | null }> {
  const rows = await readPlan<CompanyRow>(hot, actor, plan);
  const page = rows.slice(0, plan.limit);
  const last = page.at(-1);
  return {
    items: page.map(mapCompany),
    nextCursor: rows.length > plan.limit && last ? encodeCursor([last.cursor_key, last.id]) : null,
  };
}
