import type { EntityManager } from '@mikro-orm/postgresql';
import type { Campaign as CampaignView, CampaignSummary, CampaignVariant } from '#contracts/campaigns';
import { STAT_COUNTERS, type DeliveryCounters } from '#contracts/delivery';
import type { Campaign } from '../../db/entities/campaign.entity.ts';

/** The API's view of a campaign, and its counters (the delivery stats of its variants, summed). */

export const zeroCounters = (): DeliveryCounters =>
  Object.fromEntries(STAT_COUNTERS.map((k) => [k, 0])) as DeliveryCounters;

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Counters of these campaigns from `delivery_stats` (one row per variant), in one query. */
export async function countersOf(
  em: EntityManager,
  tenantId: string,
  ids: string[],
): Promise<Map<string, DeliveryCounters>> {
  const out = new Map<string, DeliveryCounters>();
  if (!ids.length) return out;
  const sums = STAT_COUNTERS.map((k) => `sum("${k}")::int as "${k}"`).join(', ');
  const rows = (await em.execute(
    `select source_id, ${sums} from delivery_stats
      where tenant_id = ? and source = 'campaign' and source_id = any(?::uuid[]) group by source_id`,
    [tenantId, `{${ids.join(',')}}`],
  )) as ({ source_id: string } & DeliveryCounters)[];
  for (const { source_id, ...counters } of rows) out.set(source_id, counters as DeliveryCounters);
  return out;
}

export function summaryDto(c: Campaign, counters: DeliveryCounters | undefined): CampaignSummary {
  return {
    id: c.id,
    name: c.name,
    status: c.status,
    subject: c.subject,
    listIds: c.listIds,
    ab: c.ab ?? null,
    scheduledAt: iso(c.scheduledAt),
    startedAt: iso(c.startedAt),
    finishedAt: iso(c.finishedAt),
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    counters: counters ?? zeroCounters(),
  };
}

export function campaignDto(c: Campaign, counters: DeliveryCounters | undefined): CampaignView {
  return {
    ...summaryDto(c, counters),
    mailboxId: c.mailboxId ?? null,
    fromName: c.fromName ?? null,
    fromEmail: c.fromEmail ?? null,
    replyTo: c.replyTo ?? null,
    preheader: c.preheader ?? null,
    content: c.content,
    variants: c.variants as CampaignVariant[],
    winnerVariant: c.winnerVariant ?? null,
    winnerAt: iso(c.winnerAt),
    createdBy: c.createdBy ?? null,
    version: c.version,
  };
}

/** A keyset cursor over (created_at desc, id desc). */
export const encodeCursor = (c: Campaign): string =>
  Buffer.from(`${c.createdAt.toISOString()}|${c.id}`).toString('base64url');

export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(createdAt.getTime())) return null;
  return { createdAt, id };
}
