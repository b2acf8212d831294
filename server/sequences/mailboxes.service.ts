import { LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import { DateTime } from 'luxon';
import type { MailboxSending, mailboxSendingPatch, TimeWindow } from '#contracts/sequences';
import type { MikroORM } from '../../db/orm.ts';
import { MailboxSchema, type Mailbox } from '../../db/entities/mailbox.entity.ts';
import { SequenceMailboxSchema, type SequenceMailbox } from '../../db/entities/sequence.entity.ts';
import { HttpError } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import { pgArray } from '../newsletters/segments.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import { isIanaZone } from './zones.ts';
import { DEFAULT_WORKDAY } from './engine/slots.ts';

/** A mailbox's sending rules before anyone set them: a warm mailbox writing like a person (the table's defaults). */
export const SENDING_DEFAULTS = {
  dailyCap: 40,
  hourlyCap: 7,
  minGapSeconds: 90,
  maxGapSeconds: 420,
  timeZone: 'Europe/Rome',
  workday: DEFAULT_WORKDAY,
  warmupEnabled: false,
  warmupStartCap: 5,
  warmupIncrement: 5,
} as const satisfies Partial<SequenceMailbox> & { workday: TimeWindow };

const invalid = (field: string, why: string) =>
  new HttpError(400, 'validation_failed', `The sending settings are not valid: ${why}`, { [field]: why });

/** Sequence sends of each mailbox since the start of its local day and of its current hour (sent rows only). */
async function sentCounts(
  uow: UnitOfWork,
  rows: { mailboxId: string; zone: string }[],
  now: Date,
): Promise<Map<string, { day: number; hour: number }>> {
  const out = new Map<string, { day: number; hour: number }>();
  if (!rows.length) return out;
  const ids: string[] = [];
  const days: string[] = [];
  const hours: string[] = [];
  for (const r of rows) {
    const local = DateTime.fromJSDate(now, { zone: r.zone });
    ids.push(r.mailboxId);
    days.push(local.startOf('day').toUTC().toISO()!);
    hours.push(local.startOf('hour').toUTC().toISO()!);
  }
  const counted = (await uow.em.execute(
    `select w.mailbox_id, count(b.id) filter (where b.sent_at >= w.day_start)::int as day,
            count(b.id) filter (where b.sent_at >= w.hour_start)::int as hour
       from unnest(?::uuid[], ?::timestamptz[], ?::timestamptz[]) as w(mailbox_id, day_start, hour_start)
       left join bulk_sends b on b.tenant_id = filo_current_tenant() and b.source = 'sequence'
            and b.mailbox_id = w.mailbox_id and b.status = 'sent' and b.sent_at >= w.day_start
      group by w.mailbox_id`,
    [pgArray(ids), pgArray(days), pgArray(hours)],
  )) as { mailbox_id: string; day: number; hour: number }[];
  for (const c of counted) out.set(c.mailbox_id, { day: c.day, hour: c.hour });
  return out;
}

/** Each mailbox's sending rules for sequences: caps, gaps, workday, warmup; read by members, set by admins. */
export class SequenceMailboxesService {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;

  constructor(orm: MikroORM, mailboxes: MailboxesService) {
    this.#orm = orm;
    this.#mailboxes = mailboxes;
  }

  async #dtos(uow: UnitOfWork, mailboxes: Mailbox[], now: Date): Promise<MailboxSending[]> {
    const rules = await uow.em.find(SequenceMailboxSchema, { mailboxId: { $in: mailboxes.map((m) => m.id) } } as never);
    const byId = new Map(rules.map((r) => [r.mailboxId as string, r]));
    const zoneOf = (m: Mailbox) => byId.get(m.id)?.timeZone ?? SENDING_DEFAULTS.timeZone;
    const sent = await sentCounts(
      uow,
      mailboxes.map((m) => ({ mailboxId: m.id, zone: zoneOf(m) })),
      now,
    );
    const accounts = (await uow.em.execute(
      `select mailbox_id, email from email_accounts where tenant_id = filo_current_tenant() and mailbox_id = any(?::uuid[])`,
      [pgArray(mailboxes.map((m) => m.id))],
    )) as { mailbox_id: string; email: string }[];
    const accountOf = new Map(accounts.map((a) => [a.mailbox_id, a.email]));
    const [{ slug }] = (await uow.em.execute(`select slug from tenants where id = ?`, [uow.actor.tenantId])) as [
      { slug: string },
    ];
    return mailboxes.map((m) => {
      const r = byId.get(m.id);
      const d = r ?? SENDING_DEFAULTS;
      const dailyCap = r?.dailyCap ?? SENDING_DEFAULTS.dailyCap;
      const warmupEnabled = r?.warmupEnabled ?? SENDING_DEFAULTS.warmupEnabled;
      return {
        mailboxId: m.id,
        address: accountOf.get(m.id) ?? m.address ?? this.#mailboxes.addressOf(slug, m.localPart),
        name: m.name,
        dailyCap,
        hourlyCap: d.hourlyCap,
        minGapSeconds: d.minGapSeconds,
        maxGapSeconds: d.maxGapSeconds,
        timeZone: zoneOf(m),
        workday: structuredClone(d.workday) as TimeWindow,
        warmup: {
          enabled: warmupEnabled,
          startCap: d.warmupStartCap,
          increment: d.warmupIncrement,
          currentCap: warmupEnabled ? Math.min(r?.currentCap ?? d.warmupStartCap, dailyCap) : dailyCap,
        },
        pausedAt: r?.pausedAt ? r.pausedAt.toISOString() : null,
        pauseReason: r?.pauseReason ?? null,
        sentToday: sent.get(m.id)?.day ?? 0,
        sentThisHour: sent.get(m.id)?.hour ?? 0,
      };
    });
  }

  /** The rules of these mailboxes (those that exist), inside the caller's transaction: a report's pool. */
  async sendingOf(uow: UnitOfWork, ids: string[], now: Date): Promise<MailboxSending[]> {
    if (!ids.length) return [];
    const mailboxes = await uow.em.find(MailboxSchema, { id: { $in: ids } } as never, { orderBy: { name: 'asc' } });
    return this.#dtos(uow, mailboxes, now);
  }

  /** Every mailbox the actor may send from (those they see), with its rules: the defaults where none are set. */
  list(actor: Actor, now = new Date()): Promise<{ items: MailboxSending[] }> {
    return inTenant(this.#orm, actor, async (uow) => {
      const mailboxes = await uow.em.find(MailboxSchema, this.#mailboxes.visibleFilter(actor), {
        orderBy: { name: 'asc' },
      });
      return { items: await this.#dtos(uow, mailboxes, now) };
    });
  }

  /** Admins set a mailbox's rules (the row is made on the first change); zones are IANA names, gaps min <= max. */
  update(actor: Actor, mailboxId: string, patch: z.infer<typeof mailboxSendingPatch>): Promise<MailboxSending> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const mailbox = await this.#mailboxes.findVisible(uow, mailboxId);
      requireRole(actor, 'owner', 'admin');
      if (patch.timeZone !== undefined && !isIanaZone(patch.timeZone))
        throw invalid('timeZone', 'not an IANA time zone (e.g. Europe/Rome)');
      if (patch.workday && patch.workday.start === patch.workday.end)
        throw invalid('workday', 'the workday starts and ends at the same time');
      let r = await uow.em.findOne(SequenceMailboxSchema, { mailboxId } as never, {
        lockMode: LockMode.PESSIMISTIC_WRITE,
        refresh: true,
      });
      if (!r)
        r = uow.em.create(SequenceMailboxSchema, {
          ...SENDING_DEFAULTS,
          workday: structuredClone(SENDING_DEFAULTS.workday),
          mailboxId,
          tenantId: actor.tenantId,
        } as never);
      const { warmup, paused, ...plain } = patch;
      for (const [k, v] of Object.entries(plain)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
      if (r.minGapSeconds > r.maxGapSeconds)
        throw invalid('minGapSeconds', 'the shortest gap is longer than the longest');
      if (r.hourlyCap > r.dailyCap) throw invalid('hourlyCap', 'the hourly cap is above the daily cap');
      if (warmup) {
        // Starting a warmup (or restarting it) begins at its start cap; stopping it sends at the daily cap.
        if (warmup.enabled && (!r.warmupEnabled || warmup.startCap !== r.warmupStartCap))
          r.currentCap = warmup.startCap;
        if (!warmup.enabled) r.currentCap = null;
        r.warmupEnabled = warmup.enabled;
        r.warmupStartCap = warmup.startCap;
        r.warmupIncrement = warmup.increment;
      }
      if (paused === true && !r.pausedAt) {
        r.pausedAt = new Date();
        r.pauseReason = `Paused by ${actor.userName}`;
      }
      if (paused === false) {
        r.pausedAt = null;
        r.pauseReason = null;
      }
      await uow.em.flush();
      const [dto] = await this.#dtos(uow, [mailbox], new Date());
      return dto!;
    });
  }
}
