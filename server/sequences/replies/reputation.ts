import type { z } from 'zod';
import type { domainReputation } from '#contracts/sequences';
import type { NewNotification, NotificationsService } from '../../timeline/notifications.service.ts';
import type { MikroORM } from '../../../db/orm.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../../tenancy.ts';

type DomainReputation = z.infer<typeof domainReputation>;
type Rates = DomainReputation['last7'];

/** Gmail's and Yahoo's bulk-sender rule: complaints must stay under 0.3 %; at it, the domain's sequences pause. */
export const DOMAIN_COMPLAINT_PAUSE = 0.003;
/** Bounces past 8 % mean a stale list (providers start throttling near 10 %). */
export const DOMAIN_BOUNCE_PAUSE = 0.08;
/** Fewer sends than this in the window say nothing (one bounce of three is no rate). */
export const DOMAIN_MIN_VOLUME = 50;

const DAY = 86_400_000;

interface CountRow {
  domain: string;
  sent7: number;
  bounced7: number;
  complained7: number;
  replied7: number;
  sent30: number;
  bounced30: number;
  complained30: number;
  replied30: number;
}

const rate = (n: number, of: number) => (of ? Math.round((n / of) * 100_000) / 100_000 : 0);
const ratesOf = (sent: number, bounced: number, complained: number, replied: number): Rates => ({
  sent,
  bounceRate: rate(bounced, sent),
  complaintRate: rate(complained, sent),
  replyRate: rate(replied, sent),
});

/** Whether these counts pass a pause threshold, and the reason said in the notice (null: they do not). */
export function domainVerdict(c: { sent: number; bounced: number; complained: number }): string | null {
  if (c.sent < DOMAIN_MIN_VOLUME) return null;
  if (c.complained / c.sent >= DOMAIN_COMPLAINT_PAUSE)
    return `complaint rate ${pct(c.complained / c.sent)} over ${c.sent} sends (pause at ${pct(DOMAIN_COMPLAINT_PAUSE)})`;
  if (c.bounced / c.sent >= DOMAIN_BOUNCE_PAUSE)
    return `bounce rate ${pct(c.bounced / c.sent)} over ${c.sent} sends (pause at ${pct(DOMAIN_BOUNCE_PAUSE)})`;
  return null;
}

export const pct = (r: number) => `${(Math.round(r * 10_000) / 100).toString()} %`;

/**
 * Each sending domain's standing for sequences: bounce, complaint and reply rates over 7 and 30 days from the
 * sequence send rows of the mailboxes with an address at that domain, and the auto-pause of a domain whose last 7
 * days (since a resume by hand) pass a threshold. The engine books no slot for a paused domain's mailboxes.
 */
export class SequenceReputation {
  readonly #orm: MikroORM;
  readonly #inboundDomain: string;
  readonly #notifications: NotificationsService;

  constructor(deps: { orm: MikroORM; inboundDomain: string; notifications: NotificationsService }) {
    this.#orm = deps.orm;
    this.#inboundDomain = deps.inboundDomain.toLowerCase();
    this.#notifications = deps.notifications;
  }

  /** GET /api/sequences/reputation: every member sees the workspace's standing. */
  listFor(actor: Actor): Promise<DomainReputation[]> {
    return inTenant(this.#orm, actor, (uow) => this.list(uow));
  }

  /** Owners and admins resume a paused domain; false when it was not paused. */
  resumeBy(actor: Actor, domain: string): Promise<boolean> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, (uow) => this.resume(uow, domain));
  }

  /** `select id, domain` of the workspace's mailboxes: the domain of the address they send from (params: 2). */
  mailboxDomains(tenantId: string): { sql: string; params: unknown[] } {
    return {
      sql: `select m.id, lower(split_part(coalesce(nullif(m.address, ''), m.local_part || '@' || t.slug || '.' || ?), '@', 2)) as domain
              from mailboxes m join tenants t on t.id = m.tenant_id where m.tenant_id = ?`,
      params: [this.#inboundDomain, tenantId],
    };
  }

  async #counts(uow: UnitOfWork, now: Date, domain?: string, since?: Date): Promise<CountRow[]> {
    const boxes = this.mailboxDomains(uow.actor.tenantId);
    const since7 = new Date(Math.max(now.getTime() - 7 * DAY, since?.getTime() ?? 0));
    const since30 = new Date(Math.max(now.getTime() - 30 * DAY, since?.getTime() ?? 0));
    return (await uow.em.execute(
      `with boxes as (${boxes.sql}),
            s as (select b.domain, coalesce(s.sent_at, s.bounced_at) as at, s.bounced_at, s.complained_at, s.replied_at
                    from bulk_sends s join boxes b on b.id = s.mailbox_id
                   where s.tenant_id = ? and s.source = 'sequence' and s.status in ('sent', 'bounced')
                     and coalesce(s.sent_at, s.bounced_at) >= ?::timestamptz
                     and coalesce(s.sent_at, s.bounced_at) <= ?::timestamptz
                     and (?::text is null or b.domain = ?::text))
       select domain,
              (count(*) filter (where at >= ?::timestamptz))::int as sent7,
              (count(*) filter (where at >= ?::timestamptz and bounced_at is not null))::int as bounced7,
              (count(*) filter (where at >= ?::timestamptz and complained_at is not null))::int as complained7,
              (count(*) filter (where at >= ?::timestamptz and replied_at is not null))::int as replied7,
              count(*)::int as sent30,
              (count(*) filter (where bounced_at is not null))::int as bounced30,
              (count(*) filter (where complained_at is not null))::int as complained30,
              (count(*) filter (where replied_at is not null))::int as replied30
         from s group by domain order by domain`,
      [
        ...boxes.params,
        uow.actor.tenantId,
        since30.toISOString(),
        now.toISOString(),
        domain ?? null,
        domain ?? null,
        ...Array(4).fill(since7.toISOString()),
      ],
    )) as CountRow[];
  }

  /** Every domain the workspace sends sequences from (or has a standing for), with its rates and pause. */
  async list(uow: UnitOfWork, now = new Date()): Promise<DomainReputation[]> {
    const counts = new Map((await this.#counts(uow, now)).map((c) => [c.domain, c]));
    const boxes = this.mailboxDomains(uow.actor.tenantId);
    const pool = (await uow.em.execute(
      `with boxes as (${boxes.sql}) select distinct b.domain from sequence_mailboxes sm join boxes b on b.id = sm.mailbox_id`,
      boxes.params,
    )) as { domain: string }[];
    const standing = (await uow.em.execute(
      `select domain, paused_at, pause_reason from sequence_domains where tenant_id = ?`,
      [uow.actor.tenantId],
    )) as { domain: string; paused_at: Date | null; pause_reason: string | null }[];
    const known = new Map(standing.map((s) => [s.domain, s]));
    const domains = new Set([...pool.map((p) => p.domain), ...known.keys(), ...counts.keys()]);
    return [...domains].sort().map((domain) => {
      const c = counts.get(domain);
      const s = known.get(domain);
      return {
        domain,
        last7: ratesOf(c?.sent7 ?? 0, c?.bounced7 ?? 0, c?.complained7 ?? 0, c?.replied7 ?? 0),
        last30: ratesOf(c?.sent30 ?? 0, c?.bounced30 ?? 0, c?.complained30 ?? 0, c?.replied30 ?? 0),
        pausedAt: s?.paused_at ? new Date(s.paused_at).toISOString() : null,
        pauseReason: s?.pause_reason ?? null,
      };
    });
  }

  /**
   * Pauses the domains (one, or every one with sends) whose last 7 days pass a threshold, once each, with a notice
   * to the workspace's owners and admins. Returns the domains paused now.
   */
  async check(uow: UnitOfWork, now: Date, domain?: string): Promise<string[]> {
    const standing = (await uow.em.execute(
      `select domain, paused_at, resumed_at from sequence_domains where tenant_id = ?`,
      [uow.actor.tenantId],
    )) as { domain: string; paused_at: string | null; resumed_at: string | null }[];
    const known = new Map(standing.map((s) => [s.domain, s]));
    const candidates = domain ? [domain] : (await this.#counts(uow, now)).map((c) => c.domain);
    const paused: string[] = [];
    for (const d of candidates) {
      const s = known.get(d);
      if (s?.paused_at) continue;
      const [c] = await this.#counts(uow, now, d, s?.resumed_at ? new Date(s.resumed_at) : undefined);
      const reason = c && domainVerdict({ sent: c.sent7, bounced: c.bounced7, complained: c.complained7 });
      if (!reason) continue;
      const [row] = (await uow.em.execute(
        `insert into sequence_domains (tenant_id, domain, paused_at, pause_reason, checked_at)
         values (?, ?, ?, ?, ?)
         on conflict (tenant_id, domain) do update
           set paused_at = excluded.paused_at, pause_reason = excluded.pause_reason,
               checked_at = excluded.checked_at, updated_at = now()
           where sequence_domains.paused_at is null
         returning domain`,
        [uow.actor.tenantId, d, now, reason, now],
      )) as { domain: string }[];
      if (!row) continue;
      paused.push(d);
      await this.notifyPaused(uow, await this.admins(uow), d, reason);
    }
    return paused;
  }

  /** Resumes a paused domain: its rates count afresh from now (the same old sends do not pause it again). */
  async resume(uow: UnitOfWork, domain: string, now = new Date()): Promise<boolean> {
    const rows = (await uow.em.execute(
      `update sequence_domains set paused_at = null, pause_reason = null, resumed_at = ?, updated_at = now()
        where tenant_id = ? and domain = ? and paused_at is not null returning domain`,
      [now, uow.actor.tenantId, domain],
    )) as { domain: string }[];
    return rows.length > 0;
  }

  /** The workspace's owners and admins (who can resume sending). */
  async admins(uow: UnitOfWork): Promise<string[]> {
    const rows = (await uow.em.execute(
      `select user_id::text as id from memberships where tenant_id = ? and role in ('owner', 'admin')`,
      [uow.actor.tenantId],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async notifyPaused(uow: UnitOfWork, userIds: string[], target: string, reason: string): Promise<void> {
    const notice: NewNotification = {
      type: 'sending_paused',
      title: `Sequence sending from ${target} paused: ${reason}`,
      data: { target, reason },
    };
    for (const userId of new Set(userIds)) await this.#notifications.create(uow, userId, notice);
  }
}
