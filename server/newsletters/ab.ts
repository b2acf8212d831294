import { LockMode } from '@mikro-orm/core';
import type { MikroORM } from '../../db/orm.ts';
import { CampaignSchema } from '../../db/entities/campaign.entity.ts';
import type { SendSource } from '#contracts/delivery';
import type { AbReason, AbRule } from '#contracts/campaign-report';
import { inTenant, systemActor, type UnitOfWork } from '../tenancy.ts';

/** What the winner needs of the delivery engine (`services.bulk`). */
export interface AbEngine {
  /** Held rows get the winner's variant and are due now; returns how many. */
  release(uow: UnitOfWork, source: SendSource, sourceId: string, variant: string): Promise<number>;
  /** Enqueues the dispatch in the caller's transaction. */
  start(uow: UnitOfWork, source: SendSource, sourceId: string): Promise<void>;
}

/** Executes SQL as the schema owner across workspaces (pg-boss's connection). */
export interface OwnerDb {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

interface VariantScore {
  key: string;
  sent: number;
  clicks: number;
  replies: number;
}

const rate = (n: number, sent: number) => (sent > 0 ? n / sent : 0);

/**
 * The winner of a test: the highest rate of the metric (unique human clickers, or repliers, per message sent), a tie
 * broken by the other metric's rate, then by the variant's key. Machine opens count for nothing.
 */
export function pickWinner(metric: 'clicks' | 'replies', scores: VariantScore[]): { winner: string; rule: AbRule } {
  const other = metric === 'clicks' ? 'replies' : 'clicks';
  const sorted = [...scores].sort(
    (a, b) =>
      rate(b[metric], b.sent) - rate(a[metric], a.sent) ||
      rate(b[other], b.sent) - rate(a[other], a.sent) ||
      a.key.localeCompare(b.key),
  );
  const [first, second] = sorted;
  if (!first) throw new Error('an A/B test needs variants');
  const tiedMain = !!second && rate(first[metric], first.sent) === rate(second[metric], second.sent);
  const tiedBoth = tiedMain && rate(first[other], first.sent) === rate(second![other], second!.sent);
  const rule: AbRule = !tiedMain ? 'metric' : !tiedBoth ? 'other_metric' : 'key';
  return { winner: first.key, rule };
}

/**
 * Decides A/B tests whose wait is over: the winner is written with its reason, the held remainder released to it
 * and the dispatch started, all in one transaction under the campaign's row lock, so it happens exactly once
 * whichever node's job gets there first.
 */
export class AbWinner {
  readonly #orm: MikroORM;
  /** The delivery engine (wired once it exists: `services.bulk`). */
  engine: AbEngine | undefined;

  constructor(orm: MikroORM, engine?: AbEngine) {
    this.#orm = orm;
    this.engine = engine;
  }

  /** Campaigns across workspaces whose test wait is over at `now` and that have no winner yet. */
  async due(db: OwnerDb, now: Date): Promise<{ id: string; tenant_id: string }[]> {
    const { rows } = await db.executeSql(
      `select id, tenant_id from campaigns
        where status = 'sending' and ab is not null and winner_variant is null and started_at is not null
          and jsonb_array_length(variants) > 0
          and started_at + make_interval(mins => coalesce((ab->>'waitMinutes')::int, 0)) <= $1
        order by started_at limit 500`,
      [now],
    );
    return rows as { id: string; tenant_id: string }[];
  }

  /** One run of the job at `now` (tests pass a later clock): every due test decided. Returns the decided ids. */
  async decideDue(db: OwnerDb, now: Date): Promise<string[]> {
    const decided: string[] = [];
    for (const c of await this.due(db, now)) if (await this.decide(c.tenant_id, c.id, now)) decided.push(c.id);
    return decided;
  }

  /** Decides one campaign's test if it is (still) due at `now`; the winner's key, or null when nothing was done. */
  decide(tenantId: string, campaignId: string, now: Date): Promise<string | null> {
    const engine = this.engine;
    if (!engine) throw new Error('A/B winner: no delivery engine wired');
    return inTenant(this.#orm, systemActor(tenantId, 'Filo A/B test'), async (uow) => {
      const { em } = uow;
      const campaign = await em.findOne(CampaignSchema, { id: campaignId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const ab = campaign?.ab;
      if (!campaign || !ab || campaign.winnerVariant || campaign.status !== 'sending' || !campaign.startedAt)
        return null;
      if (campaign.startedAt.getTime() + ab.waitMinutes * 60_000 > now.getTime()) return null;
      const keys = campaign.variants.map((v) => v.key);
      if (!keys.length) return null;
      const rows = (await em.execute(
        `select variant, sent, clicked, replied from delivery_stats
          where tenant_id = ? and source = 'campaign' and source_id = ?`,
        [tenantId, campaignId],
      )) as { variant: string; sent: number; clicked: number; replied: number }[];
      const scores = keys.map((key) => {
        const r = rows.find((row) => row.variant === key);
        return { key, sent: Number(r?.sent ?? 0), clicks: Number(r?.clicked ?? 0), replies: Number(r?.replied ?? 0) };
      });
      const { winner, rule } = pickWinner(ab.metric, scores);
      const reason: AbReason = {
        metric: ab.metric,
        rule,
        variants: scores.map((s) => ({ ...s, rate: rate(ab.metric === 'clicks' ? s.clicks : s.replies, s.sent) })),
        decidedAt: now.toISOString(),
      };
      campaign.winnerVariant = winner;
      campaign.winnerAt = now;
      campaign.winnerReason = reason;
      await em.flush();
      await engine.release(uow, 'campaign', campaignId, winner);
      await engine.start(uow, 'campaign', campaignId);
      return winner;
    });
  }
}
