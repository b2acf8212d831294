import { entryHash } from './chain.ts';

/** Runs one SQL statement (`?` placeholders) and returns its rows. */
export type Query = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

export interface ChainReport {
  tenantId: string;
  /** Entries checked (those kept since the anchor). */
  entries: number;
  ok: boolean;
  /** The first entry that does not follow from the one before it (or the head's seq when the tail is missing). */
  brokenSeq?: number;
  reason?: string;
}

const BATCH = 1000;

/**
 * Walks a workspace's chain from its anchor (the last entry the retention purge removed) to its head: every seq
 * follows the previous one, every `prev_hash` is the previous `hash`, and every hash is recomputed from the row.
 */
export async function verifyChain(query: Query, tenantId: string): Promise<ChainReport> {
  const [chain] = await query(`select seq, hash, anchor_seq, anchor_hash from audit_chains where tenant_id = ?`, [
    tenantId,
  ]);
  let seq = Number(chain?.anchor_seq ?? 0);
  let hash = String(chain?.anchor_hash ?? '0'.repeat(64));
  let entries = 0;
  const broken = (at: number, reason: string): ChainReport => ({ tenantId, entries, ok: false, brokenSeq: at, reason });
  for (;;) {
    const rows = await query(
      `select seq, at, actor_id, actor_kind, ip, user_agent, action, target_type, target_id, summary, before, after,
              prev_hash, hash from audit_entries where tenant_id = ? and seq > ? order by seq limit ${BATCH}`,
      [tenantId, seq],
    );
    for (const r of rows) {
      const rowSeq = Number(r.seq);
      if (rowSeq !== seq + 1) return broken(seq + 1, `entry ${seq + 1} is missing`);
      if (r.prev_hash !== hash) return broken(rowSeq, 'prev_hash is not the previous entry’s hash');
      const expected = entryHash(hash, {
        tenantId,
        seq: rowSeq,
        at: r.at instanceof Date ? r.at : new Date(String(r.at)),
        actorId: (r.actor_id as string | null) ?? null,
        actorKind: String(r.actor_kind),
        ip: (r.ip as string | null) ?? null,
        userAgent: (r.user_agent as string | null) ?? null,
        action: String(r.action),
        targetType: (r.target_type as string | null) ?? null,
        targetId: (r.target_id as string | null) ?? null,
        summary: String(r.summary),
        before: r.before ?? null,
        after: r.after ?? null,
      });
      if (expected !== r.hash) return broken(rowSeq, 'the entry was changed after it was written');
      seq = rowSeq;
      hash = String(r.hash);
      entries++;
    }
    if (rows.length < BATCH) break;
  }
  if (chain && (Number(chain.seq) !== seq || chain.hash !== hash))
    return broken(seq + 1, `the chain’s head is at ${String(chain.seq)}: entries after ${seq} are missing`);
  return { tenantId, entries, ok: true };
}
