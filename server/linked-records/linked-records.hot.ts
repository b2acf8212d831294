import type { SearchHit } from '#contracts/crm';
import { BUILTIN_LINKED_KINDS } from '#contracts/linked-records';
import { tenantStatement, type HotReads } from '../db-hot/hot-reads.ts';
import type { Actor } from '../tenancy.ts';
import { LINKED_COLUMNS, LINKED_FROM, linkedHit, type LinkedRow } from './linked-records.queries.ts';

/** `searchLinked`'s query for a member who reads every kind: the built-in kinds and the workspace's own. */
const SEARCH = tenantStatement(`select ${LINKED_COLUMNS}, ts_rank(r.search, q) as rank
  from ${LINKED_FROM}, to_tsquery('simple', $2::text) q
 where r.tenant_id = filo_tenant.id and r.search @@ q and (k.key is not null or r.kind = any($3::text[]))
 order by rank desc, r.updated_at desc limit $4::int`);

const BUILTIN = [...BUILTIN_LINKED_KINDS];

/**
 * Search hits of linked records on the hot-read pool, for an actor who reads every kind (no token grants: those
 * go through `searchLinked`, which works out the readable kinds).
 */
export async function searchLinkedHot(
  hot: HotReads,
  actor: Actor,
  tsquery: string,
  limit: number,
): Promise<SearchHit[]> {
  if (actor.grants) throw new Error('searchLinkedHot reads every kind: an actor with grants goes through searchLinked');
  const rows = await hot.read<LinkedRow & { rank: number }>(actor.tenantId, SEARCH, [tsquery, BUILTIN, limit]);
  return rows.map(linkedHit);
}
