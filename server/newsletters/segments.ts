import type { EntityManager } from '@mikro-orm/postgresql';
import {
  CUSTOM_FIELD_OPS,
  CUSTOM_FIELD_RE,
  type SegmentCondition,
  type SegmentFilter,
} from '#contracts/newsletter-lists';
import { HttpError } from '../http/errors.ts';

/**
 * A segment's filter compiled to a SQL condition over `contacts ct left join companies co on co.id = ct.company_id`.
 * Every value is a `?` parameter; the only text put into the SQL is chosen from fixed fragments here.
 */
export interface CompiledSegment {
  where: string;
  params: unknown[];
}

/** The FROM clause a compiled segment's condition is written for. */
export const SEGMENT_FROM = `contacts ct left join companies co on co.id = ct.company_id and co.tenant_id = ct.tenant_id`;

type FieldType = keyof typeof CUSTOM_FIELD_OPS;

/** A PostgreSQL array literal (values travel as text: the driver would inline an array as a list). */
export const pgArray = (values: readonly string[]) =>
  `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;

const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const badCondition = (index: number, key: string, message: string) =>
  new HttpError(400, 'validation_failed', 'The segment filter is not valid', {
    [`filter.conditions.${index}.${key}`]: message,
  });

/** The custom field definitions a filter names, by `<entity>.<name>`: one query for the whole filter. */
async function customFieldTypes(em: EntityManager, tenantId: string, filter: SegmentFilter) {
  const wanted = filter.conditions.map((c) => CUSTOM_FIELD_RE.exec(c.field)).filter((m) => m !== null);
  const types = new Map<string, FieldType>();
  if (!wanted.length) return types;
  const rows = (await em.execute(
    `select entity_type, field_name, field_type from custom_fields_config
      where tenant_id = ? and field_name = any(?::text[])`,
    [tenantId, pgArray([...new Set(wanted.map((m) => m[2]!))])],
  )) as { entity_type: string; field_name: string; field_type: FieldType }[];
  for (const r of rows) types.set(`${r.entity_type}.${r.field_name}`, r.field_type);
  return types;
}

/**
 * Compiles a (zod-validated) filter, checking each custom field against its definition: an unknown field, or an
 * operator or value its type does not take, is a 400 naming the condition's path.
 */
export async function compileSegment(
  em: EntityManager,
  tenantId: string,
  filter: SegmentFilter,
): Promise<CompiledSegment> {
  const types = await customFieldTypes(em, tenantId, filter);
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return '?';
  };
  const parts = filter.conditions.map((c, i) => condition(c, i, p, tenantId, types));
  if (!parts.length) return { where: 'true', params };
  return { where: `(${parts.join(filter.match === 'any' ? ' or ' : ' and ')})`, params };
}

function condition(
  c: SegmentCondition,
  i: number,
  p: (v: unknown) => string,
  tenantId: string,
  types: Map<string, FieldType>,
): string {
  const v = c.value;
  const negate = (sql: string) => (c.op === 'is_not' || c.op === 'has_not' ? `not coalesce(${sql}, false)` : sql);
  // Placeholders are taken in the order they appear in the text: each fragment calls p() inline, left to right.
  const recent = (sql: string) => (c.op === 'not_within_days' ? `not ${sql}` : sql);
  switch (c.field) {
    case 'company.type':
      return negate(`co.type = ${p(v)}`);
    case 'company.status':
      return negate(`co.status = ${p(v)}`);
    case 'contact.status':
      return negate(`ct.status = ${p(v)}`);
    case 'company.tag':
      return negate(`co.tags @> array[${p(v)}]::text[]`);
    case 'contact.tag':
      return negate(`ct.tags @> array[${p(v)}]::text[]`);
    case 'company.owner':
      if (c.op === 'empty') return `co.assigned_to is null`;
      if (c.op === 'not_empty') return `co.assigned_to is not null`;
      return negate(`co.assigned_to = ${p(v)}::uuid`);
    case 'deal.stage':
      return negate(
        `exists (select 1 from deals d where d.tenant_id = ${p(tenantId)}::uuid and d.company_id = ct.company_id
           and d.stage = ${p(v)})`,
      );
    case 'activity.opened':
    case 'activity.clicked': {
      const column = c.field === 'activity.opened' ? 'opened_at' : 'clicked_at';
      return recent(
        `exists (select 1 from bulk_sends b where b.tenant_id = ${p(tenantId)}::uuid
           and b.contact_id = ct.id and b.${column} >= now() - make_interval(days => ${p(v)}::int))`,
      );
    }
    case 'activity.email_received':
    case 'activity.email_sent': {
      const type = c.field === 'activity.email_received' ? 'email.received' : 'email.sent';
      return recent(
        `exists (select 1 from activities a where a.tenant_id = ${p(tenantId)}::uuid
           and a.entity_type = 'contact' and a.entity_id = ct.id and a.activity_type = ${p(type)}
           and a.created_at >= now() - make_interval(days => ${p(v)}::int))`,
      );
    }
  }
  return customField(c, i, p, types);
}

function customField(c: SegmentCondition, i: number, p: (v: unknown) => string, types: Map<string, FieldType>): string {
  const m = CUSTOM_FIELD_RE.exec(c.field);
  if (!m) throw badCondition(i, 'field', `unknown field "${c.field}"`);
  const [, entity, name] = m;
  const type = types.get(`${entity}.${name}`);
  if (!type) throw badCondition(i, 'field', `no ${entity} custom field is named "${name}"`);
  const ops = CUSTOM_FIELD_OPS[type]!;
  if (!ops.includes(c.op)) throw badCondition(i, 'op', `a ${type} field takes ${ops.join(', ')}`);
  const col = entity === 'company' ? 'co.custom_fields' : 'ct.custom_fields';
  const empty = () => `coalesce(${col} -> ${p(name)}, 'null'::jsonb) in ('null'::jsonb, '""'::jsonb, '[]'::jsonb)`;
  if (c.op === 'empty') return empty();
  if (c.op === 'not_empty') return `not (${empty()})`;
  const v = c.value;
  const bad = (message: string) => badCondition(i, 'value', message);
  switch (type) {
    case 'number': {
      if (typeof v !== 'number') throw bad('must be a number');
      const cmp = c.op === 'greater' ? '>' : c.op === 'less' ? '<' : '=';
      // The guard keeps a value of another type (stored before the field changed type) from failing the cast.
      return `(case when jsonb_typeof(${col} -> ${p(name)}) = 'number'
        then (${col} ->> ${p(name)})::numeric ${cmp} ${p(v)}::numeric else false end)`;
    }
    case 'date': {
      if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw bad('must be a date as YYYY-MM-DD');
      const cmp = c.op === 'greater' ? '>' : c.op === 'less' ? '<' : '=';
      // ISO days compare as text; no cast, so a malformed stored value cannot fail the query.
      return `(jsonb_typeof(${col} -> ${p(name)}) = 'string' and (${col} ->> ${p(name)}) ${cmp} ${p(v)})`;
    }
    case 'boolean':
      if (typeof v !== 'boolean') throw bad('must be true or false');
      return `(${col} -> ${p(name)}) = to_jsonb(${p(v)}::boolean)`;
    case 'multiselect':
      if (typeof v !== 'string' || !v) throw bad('must be one of the options');
      return `(jsonb_typeof(${col} -> ${p(name)}) = 'array' and (${col} -> ${p(name)}) @> to_jsonb(${p(v)}::text))`;
    default: {
      if (typeof v !== 'string' || !v) throw bad('must be text');
      if (c.op === 'contains') return `(${col} ->> ${p(name)}) ilike ${p(likePattern(v))}`;
      return `lower(${col} ->> ${p(name)}) = lower(${p(v)})`;
    }
  }
}
