import type { MikroORM } from '../../../db/orm.ts';
import type { Logger } from '../../logger.ts';
import { inTenant, systemActor, type UnitOfWork } from '../../tenancy.ts';
import { pct, type SequenceReputation } from './reputation.ts';

/** A warming mailbox pauses at 5 % bounces over its last 7 days (stricter than a domain's 8 %: it has no history). */
export const WARMUP_BOUNCE_MAX = 0.05;
/** ... or at 0.1 % complaints (Gmail's recommended ceiling; any complaint among fewer than 1,000 sends passes it). */
export const WARMUP_COMPLAINT_MAX = 0.001;
/** The bounce rate of fewer sends than this says nothing (one bounce among the first five mails). */
export const WARMUP_MIN_SENT = 20;

const DAY = 86_400_000;
/** Raised at most once in this long, whatever the schedule's drift or a second run on a restart. */
const RAISE_EVERY = 20 * 3_600_000;

interface WarmingRow {
  mailbox_id: string;
  name: string;
  daily_cap: number;
  warmup_start_cap: number;
  warmup_increment: number;
  current_cap: number | null;
  warmup_raised_at: Date | null;
  owner_id: string | null;
  sent7: number;
  bounced7: number;
  complained7: number;
  sent_day: number;
}

/** What one run did, per workspace summed. */
export interface WarmupRun {
  raised: number;
  paused: number;
  domainsPaused: number;
}

/**
 * The daily warmup: each warming mailbox's cap rises by its increment (up to its daily cap) after a day it sent and
 * its bounces and complaints stayed under the thresholds; past them it pauses and its owner and the admins hear of
 * it. The same run checks every sending domain's reputation.
 */
export class SequenceWarmup {
  readonly #orm: MikroORM;
  readonly #reputation: SequenceReputation;
  readonly #log: Logger;

  constructor(deps: { orm: MikroORM; reputation: SequenceReputation; log: Logger }) {
    this.#orm = deps.orm;
    this.#reputation = deps.reputation;
    this.#log = deps.log;
  }

  async run(now = new Date()): Promise<WarmupRun> {
    const tenants = (await this.#orm.em.getConnection().execute(`select tenant_id from filo_sequence_tenants()`)) as {
      tenant_id: string;
    }[];
    const total: WarmupRun = { raised: 0, paused: 0, domainsPaused: 0 };
    for (const { tenant_id: tenantId } of tenants) {
      try {
        const done = await inTenant(this.#orm, systemActor(tenantId, 'Filo'), (uow) => this.#tenant(uow, now));
        total.raised += done.raised;
        total.paused += done.paused;
        total.domainsPaused += done.domainsPaused;
      } catch (err) {
        this.#log.error({ err, tenantId }, 'sequence warmup failed for a workspace');
      }
    }
    return total;
  }

  /** Only the reputation of every domain (the hourly check). */
  async checkDomains(now = new Date()): Promise<number> {
    const tenants = (await this.#orm.em.getConnection().execute(`select tenant_id from filo_sequence_tenants()`)) as {
      tenant_id: string;
    }[];
    let paused = 0;
    for (const { tenant_id: tenantId } of tenants)
      paused += (await inTenant(this.#orm, systemActor(tenantId, 'Filo'), (uow) => this.#reputation.check(uow, now)))
        .length;
    return paused;
  }

  async #tenant(uow: UnitOfWork, now: Date): Promise<WarmupRun> {
    const since7 = new Date(now.getTime() - 7 * DAY);
    const since1 = new Date(now.getTime() - DAY);
    const rows = (await uow.em.execute(
      `select sm.mailbox_id, m.name, sm.daily_cap, sm.warmup_start_cap, sm.warmup_increment, sm.current_cap,
              sm.warmup_raised_at, a.owner_id,
              (count(s.id))::int as sent7,
              (count(s.id) filter (where s.bounced_at is not null))::int as bounced7,
              (count(s.id) filter (where s.complained_at is not null))::int as complained7,
              (count(s.id) filter (where coalesce(s.sent_at, s.bounced_at) >= ?::timestamptz))::int as sent_day
         from sequence_mailboxes sm
         join mailboxes m on m.id = sm.mailbox_id
         left join email_accounts a on a.mailbox_id = sm.mailbox_id
         left join bulk_sends s on s.tenant_id = sm.tenant_id and s.mailbox_id = sm.mailbox_id
               and s.source = 'sequence' and s.status in ('sent', 'bounced')
               and coalesce(s.sent_at, s.bounced_at) between ?::timestamptz and ?::timestamptz
               and coalesce(s.sent_at, s.bounced_at) >= coalesce(sm.warmup_judged_from, '-infinity')
        where sm.tenant_id = ? and sm.warmup_enabled and sm.paused_at is null
        group by sm.mailbox_id, m.name, a.owner_id`,
      [since1.toISOString(), since7.toISOString(), now.toISOString(), uow.actor.tenantId],
    )) as WarmingRow[];
    const out: WarmupRun = { raised: 0, paused: 0, domainsPaused: 0 };
    for (const r of rows) {
      const reason = warmupVerdict({ sent: r.sent7, bounced: r.bounced7, complained: r.complained7 });
      if (reason) {
        const [hit] = (await uow.em.execute(
          `update sequence_mailboxes set paused_at = ?, pause_reason = ?, warmup_judged_from = ?, updated_at = now()
            where mailbox_id = ? and paused_at is null returning mailbox_id`,
          [now, `Warmup: ${reason}`.slice(0, 500), now, r.mailbox_id],
        )) as unknown[];
        if (!hit) continue;
        out.paused++;
        const admins = await this.#reputation.admins(uow);
        await this.#reputation.notifyPaused(uow, r.owner_id ? [r.owner_id, ...admins] : admins, r.name, reason);
        continue;
      }
      if (r.warmup_raised_at && now.getTime() - new Date(r.warmup_raised_at).getTime() < RAISE_EVERY) continue;
      // the first run sets the starting cap; later ones raise it only after a day the mailbox actually sent
      const cap =
        r.current_cap === null
          ? Math.min(r.daily_cap, r.warmup_start_cap)
          : r.sent_day > 0
            ? Math.min(r.daily_cap, r.current_cap + r.warmup_increment)
            : r.current_cap;
      if (cap === r.current_cap) continue;
      await uow.em.execute(
        `update sequence_mailboxes set current_cap = ?, warmup_raised_at = ?, updated_at = now() where mailbox_id = ?`,
        [cap, now, r.mailbox_id],
      );
      out.raised++;
    }
    out.domainsPaused = (await this.#reputation.check(uow, now)).length;
    return out;
  }
}

/** The reason a warming mailbox pauses, or null while its signals are clean. */
export function warmupVerdict(c: { sent: number; bounced: number; complained: number }): string | null {
  if (c.sent > 0 && c.complained / c.sent >= WARMUP_COMPLAINT_MAX)
    return `complaint rate ${pct(c.complained / c.sent)} over ${c.sent} sends (limit ${pct(WARMUP_COMPLAINT_MAX)})`;
  if (c.sent >= WARMUP_MIN_SENT && c.bounced / c.sent >= WARMUP_BOUNCE_MAX)
    return `bounce rate ${pct(c.bounced / c.sent)} over ${c.sent} sends (limit ${pct(WARMUP_BOUNCE_MAX)})`;
  return null;
}
