import type { EntityManager } from '@mikro-orm/postgresql';
import { segmentFilter } from '#contracts/newsletter-lists';
import type { ListKind } from '#contracts/newsletters';
import { compileSegment, pgArray, SEGMENT_FROM } from './segments.ts';

export interface ListInfo {
  id: string;
  name: string;
  kind: ListKind;
  doubleOptIn: boolean;
}

/** Name, kind and double opt-in of the given lists (in the caller's tenant transaction); unknown ids are left out. */
export async function listsOf(em: EntityManager, listIds: string[]): Promise<ListInfo[]> {
  if (!listIds.length) return [];
  const rows = (await em.execute(
    `select id, name, kind, double_opt_in from mailing_lists where id = any(?::uuid[]) order by name`,
    [pgArray(listIds)],
  )) as { id: string; name: string; kind: ListKind; double_opt_in: boolean }[];
  return rows.map((r) => ({ id: r.id, name: r.name, kind: r.kind, doubleOptIn: r.double_opt_in }));
}

/**
 * The recipients of `listIds` as one plain SELECT of `contact_id uuid, address text` (the address lower-cased), one
 * row per address: static lists' subscribed members and segments' live matches (contacts with an email). Meant to
 * run inside `insert into bulk_sends ... select` in the caller's tenant transaction; values are `?` parameters.
 * Consent (unsubscribed, bounced, complained) is not applied here: the sender checks it in its send transaction.
 */
export async function audienceQuery(
  em: EntityManager,
  tenantId: string,
  listIds: string[],
): Promise<{ sql: string; params: unknown[] }> {
  const lists = (await em.execute(
    `select id, kind, filter from mailing_lists where tenant_id = ? and id = any(?::uuid[])`,
    [tenantId, pgArray(listIds)],
  )) as { id: string; kind: ListKind; filter: unknown }[];
  const params: unknown[] = [];
  const parts: string[] = [];
  const staticIds = lists.filter((l) => l.kind === 'static').map((l) => l.id);
  if (staticIds.length) {
    parts.push(
      `select m.contact_id, lower(m.address) as address from consents m
        where m.tenant_id = ?::uuid and m.channel = 'email' and m.list_id = any(?::uuid[])
          and m.status = 'subscribed' and m.address is not null`,
    );
    params.push(tenantId, pgArray(staticIds));
  }
  for (const list of lists.filter((l) => l.kind === 'segment')) {
    const parsed = segmentFilter.safeParse(list.filter);
    // A stored filter that no longer parses matches nobody rather than everybody.
    if (!parsed.success) continue;
    const segment = await compileSegment(em, tenantId, parsed.data);
    parts.push(
      `select ct.id as contact_id, lower(ct.email) as address from ${SEGMENT_FROM}
        where ct.tenant_id = ?::uuid and ct.email is not null and ct.email <> '' and ${segment.where}`,
    );
    params.push(tenantId, ...segment.params);
  }
  if (!parts.length) return { sql: `select null::uuid as contact_id, null::text as address where false`, params: [] };
  // One row per address (a row naming a contact wins over a sign-up with none), then one per contact (a contact
  // subscribed under an older address is mailed once): the engine's rows are unique per contact.
  const sql = `select distinct on (coalesce(a.contact_id::text, a.address)) a.contact_id, a.address
    from (select distinct on (r.address) r.contact_id::uuid as contact_id, r.address::text as address
            from (${parts.join('\n    union all\n    ')}) r
           order by r.address, r.contact_id nulls last) a
    order by coalesce(a.contact_id::text, a.address), a.address`;
  return { sql, params };
}
