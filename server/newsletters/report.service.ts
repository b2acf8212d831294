import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../../db/orm.ts';
import { CampaignSchema } from '../../db/entities/campaign.entity.ts';
import { MailingListSchema } from '../../db/entities/mailing-list.entity.ts';
import { STAT_COUNTERS, STAT_HOURLY_COUNTERS, type DeliveryCounters } from '#contracts/delivery';
import type {
  AbReason,
  CampaignReport,
  CampaignsOverview,
  ListGrowth,
  ReportNumbers,
} from '#contracts/campaign-report';
import { notFound } from '../http/errors.ts';
import { inTenant, type Actor } from '../tenancy.ts';

const zero = (): DeliveryCounters =>
  Object.fromEntries(STAT_COUNTERS.map((k) => [k, 0])) as unknown as DeliveryCounters;
const share = (part: number, whole: number) => (whole > 0 ? Math.min(1, part / whole) : 0);

/** A report's numbers from a row of counters: delivered is what was sent and did not bounce back. */
export function numbersOf(c: DeliveryCounters): ReportNumbers {
  const delivered = Math.max(0, c.sent - c.bounced);
  return {
    recipients: c.recipients,
    sent: c.sent,
    delivered,
    bounced: c.bounced,
    failed: c.failed,
    suppressed: c.suppressed,
    cancelled: c.cancelled,
    opened: c.opened,
    clicked: c.clicked,
    replied: c.replied,
    unsubscribed: c.unsubscribed,
    complained: c.complained,
    rates: {
      delivered: share(delivered, c.sent),
      bounced: share(c.bounced, c.sent),
      opened: share(c.opened, delivered),
      clicked: share(c.clicked, delivered),
      replied: share(c.replied, delivered),
      unsubscribed: share(c.unsubscribed, delivered),
      complained: share(c.complained, delivered),
      clickToOpen: share(c.clicked, c.opened),
    },
  };
}

function add(into: DeliveryCounters, c: DeliveryCounters): void {
  for (const k of STAT_COUNTERS) into[k] += c[k];
}

type StatRow = Record<(typeof STAT_COUNTERS)[number], number> & { variant: string };
const COUNTER_COLUMNS = STAT_COUNTERS.map((k) => `"${k}"`).join(', ');

/** A source's counters per variant ('' when none), as numbers. */
async function statsOf(em: EntityManager, sourceId: string): Promise<Map<string, DeliveryCounters>> {
  const rows = (await em.execute(
    `select variant, ${COUNTER_COLUMNS} from delivery_stats
      where tenant_id = filo_current_tenant() and source = 'campaign' and source_id = ? order by variant`,
    [sourceId],
  )) as StatRow[];
  const out = new Map<string, DeliveryCounters>();
  for (const r of rows) {
    const c = zero();
    for (const k of STAT_COUNTERS) c[k] = Number(r[k]);
    out.set(r.variant, c);
  }
  return out;
}

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

/**
 * Reports of campaigns, lists' growth and the overview of recent campaigns: every number comes from the counters
 * kept on write (`delivery_stats`, `delivery_stat_hours`, `delivery_links`), never from counting send rows.
 */
export class ReportService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  campaign(actor: Actor, id: string): Promise<CampaignReport> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const campaign = await em.findOne(CampaignSchema, { id });
      if (!campaign) throw notFound('Campaign');
      const stats = await statsOf(em, id);
      const totals = zero();
      for (const c of stats.values()) add(totals, c);
      const keys = campaign.variants.map((v) => v.key);
      const variants = [
        ...keys.map((key) => ({ key, c: stats.get(key) ?? zero(), held: false })),
        // Rows with no variant: the remainder held until the winner (or every row of a campaign with no test).
        ...(keys.length && stats.has('') ? [{ key: '', c: stats.get('')!, held: true }] : []),
        ...[...stats.entries()].filter(([k]) => k && !keys.includes(k)).map(([key, c]) => ({ key, c, held: false })),
      ].map(({ key, c, held }) => ({
        key,
        held,
        subject: campaign.variants.find((v) => v.key === key)?.subject ?? null,
        ...numbersOf(c),
      }));
      const hourly = (await em.execute(
        `select hour, ${STAT_HOURLY_COUNTERS.map((k) => `"${k}"`).join(', ')} from delivery_stat_hours
          where tenant_id = filo_current_tenant() and source = 'campaign' and source_id = ? order by hour`,
        [id],
      )) as (Record<string, number> & { hour: Date })[];
      const links = (await em.execute(
        `select link_index, url, clicks, human_clicks from delivery_links
          where tenant_id = filo_current_tenant() and source = 'campaign' and source_id = ? order by link_index`,
        [id],
      )) as { link_index: number; url: string; clicks: number; human_clicks: number }[];
      const terminal = Math.min(
        totals.recipients,
        // A bounce is counted in `sent` too (the server answered for it, at once or later by a DSN).
        totals.sent + totals.failed + totals.suppressed + totals.cancelled,
      );
      const done = campaign.status === 'sent' || campaign.status === 'cancelled';
      return {
        campaign: {
          id: campaign.id,
          name: campaign.name,
          subject: campaign.subject,
          status: campaign.status,
          startedAt: iso(campaign.startedAt),
          finishedAt: iso(campaign.finishedAt),
        },
        totals: numbersOf(totals),
        variants,
        hourly: hourly.map((h) => ({
          hour: new Date(h.hour).toISOString(),
          ...(Object.fromEntries(STAT_HOURLY_COUNTERS.map((k) => [k, Number(h[k])])) as Record<
            (typeof STAT_HOURLY_COUNTERS)[number],
            number
          >),
        })),
        links: links.map((l) => ({
          index: Number(l.link_index),
          url: l.url,
          clicks: Number(l.clicks),
          humanClicks: Number(l.human_clicks),
        })),
        ab: campaign.ab
          ? {
              metric: campaign.ab.metric,
              testPercent: campaign.ab.testPercent,
              waitMinutes: campaign.ab.waitMinutes,
              decidesAt: campaign.startedAt
                ? new Date(campaign.startedAt.getTime() + campaign.ab.waitMinutes * 60_000).toISOString()
                : null,
              winner: campaign.winnerVariant ?? null,
              winnerAt: iso(campaign.winnerAt),
              reason: (campaign.winnerReason as AbReason | null) ?? null,
            }
          : null,
        progress: {
          terminal: done ? totals.recipients : terminal,
          recipients: totals.recipients,
          ratio: done ? 1 : share(terminal, totals.recipients),
        },
      };
    });
  }

  /** Subscriptions and withdrawals of a list per day (UTC), from the consent evidence, the last `days` days. */
  growth(actor: Actor, listId: string, days: number): Promise<ListGrowth> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const list = await em.findOne(MailingListSchema, { id: listId }, { fields: ['subscriberCount'] });
      if (!list) throw notFound('List');
      const rows = (await em.execute(
        `select to_char(d.day, 'YYYY-MM-DD') as day,
                count(e.id) filter (where e.status = 'subscribed')::int as subscribed,
                count(e.id) filter (where e.status in ('unsubscribed', 'bounced', 'complained'))::int as unsubscribed
           from (select g::date as day
                   from generate_series((now() at time zone 'utc')::date - (?::int - 1),
                                        (now() at time zone 'utc')::date, interval '1 day') g) d
           left join (consent_events e join consents c on c.id = e.consent_id and c.tenant_id = e.tenant_id
                                                     and c.list_id = ?)
             on e.tenant_id = filo_current_tenant() and (e.created_at at time zone 'utc')::date = d.day
          group by d.day order by d.day`,
        [days, listId],
      )) as { day: string; subscribed: number; unsubscribed: number }[];
      return {
        listId,
        total: list.subscriberCount,
        days: rows.map((r) => ({
          day: r.day,
          subscribed: r.subscribed,
          unsubscribed: r.unsubscribed,
          net: r.subscribed - r.unsubscribed,
        })),
      };
    });
  }

  /** The last campaigns that went out, with their open and click rates (for a sparkline on the campaign list). */
  overview(actor: Actor, limit: number): Promise<CampaignsOverview> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const rows = (await em.execute(
        `select c.id, c.name, c.status, c.started_at,
                coalesce(sum(s.sent), 0)::int as sent, coalesce(sum(s.bounced), 0)::int as bounced,
                coalesce(sum(s.opened), 0)::int as opened, coalesce(sum(s.clicked), 0)::int as clicked
           from campaigns c
           left join delivery_stats s
             on s.tenant_id = c.tenant_id and s.source = 'campaign' and s.source_id = c.id
          where c.tenant_id = filo_current_tenant() and c.started_at is not null
          group by c.id order by c.started_at desc limit ?`,
        [limit],
      )) as {
        id: string;
        name: string;
        status: CampaignReport['campaign']['status'];
        started_at: Date;
        sent: number;
        bounced: number;
        opened: number;
        clicked: number;
      }[];
      return {
        items: rows.map((r) => {
          const delivered = Math.max(0, r.sent - r.bounced);
          return {
            id: r.id,
            name: r.name,
            status: r.status,
            startedAt: iso(r.started_at),
            sent: r.sent,
            openRate: share(r.opened, delivered),
            clickRate: share(r.clicked, delivered),
          };
        }),
      };
    });
  }
}
