import type { EntityManager } from '@mikro-orm/postgresql';
import {
  STAT_COUNTERS,
  STAT_HOURLY_COUNTERS,
  type SendSource,
  type StatCounter,
  type StatHourlyCounter,
} from '#contracts/delivery';

/** Which source (and variant: '' when it has none) a counter change belongs to. */
export interface StatKey {
  tenantId: string;
  source: SendSource;
  sourceId: string;
  variant: string | null;
}

const COUNTERS = new Set<string>(STAT_COUNTERS);
const HOURLY = new Set<string>(STAT_HOURLY_COUNTERS);

/**
 * Adds to a source's counters in the caller's transaction (one upsert; and one for the hour of `at` for the
 * counters the chart draws), so reports read a row instead of counting send rows. Deltas may be negative
 * (`deferred` going back down when a retry succeeds).
 */
export async function bumpStats(
  em: EntityManager,
  key: StatKey,
  deltas: Partial<Record<StatCounter, number>>,
  at: Date = new Date(),
): Promise<void> {
  const entries = Object.entries(deltas).filter(([k, v]) => COUNTERS.has(k) && v) as [StatCounter, number][];
  if (!entries.length) return;
  const cols = entries.map(([k]) => `"${k}"`);
  await em.execute(
    `insert into delivery_stats (tenant_id, source, source_id, variant, ${cols.join(', ')})
     values (?, ?, ?, ?, ${entries.map(() => '?').join(', ')})
     on conflict (source, source_id, variant) do update set
       ${cols.map((c) => `${c} = delivery_stats.${c} + excluded.${c}`).join(', ')}, updated_at = now()`,
    [key.tenantId, key.source, key.sourceId, key.variant ?? '', ...entries.map(([, v]) => v)],
  );
  const hourly = entries.filter(([k]) => HOURLY.has(k)) as [StatHourlyCounter, number][];
  if (!hourly.length) return;
  const hour = new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);
  const hcols = hourly.map(([k]) => `"${k}"`);
  await em.execute(
    `insert into delivery_stat_hours (tenant_id, source, source_id, hour, ${hcols.join(', ')})
     values (?, ?, ?, ?, ${hourly.map(() => '?').join(', ')})
     on conflict (source, source_id, hour) do update set
       ${hcols.map((c) => `${c} = delivery_stat_hours.${c} + excluded.${c}`).join(', ')}`,
    [key.tenantId, key.source, key.sourceId, hour, ...hourly.map(([, v]) => v)],
  );
}
