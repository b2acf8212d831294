import { DateTime } from 'luxon';
import type { SequenceReport } from '#contracts/sequences';
import type { MikroORM } from '../../db/orm.ts';
import { SequenceStepSchema } from '../../db/entities/sequence.entity.ts';
import { pgArray } from '../newsletters/segments.ts';
import { inTenant, type Actor } from '../tenancy.ts';
import type { SequenceMailboxesService } from './mailboxes.service.ts';
import { findSequence } from './sequence-view.ts';

const COUNTERS = ['sent', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed'] as const;
type Counters = Record<(typeof COUNTERS)[number], number>;
const zero = (): Counters => ({ sent: 0, opened: 0, clicked: 0, replied: 0, bounced: 0, unsubscribed: 0 });

/** Days of the sends-and-replies chart at most (the latest ones), and of each mailbox's volume. */
const CHART_DAYS = 90;
const MAILBOX_DAYS = 14;

/** Every day from `first` to `last` (ISO dates), at most the last `limit`. */
function dayRange(first: string, last: string, limit: number): string[] {
  const days: string[] = [];
  let d = DateTime.fromISO(last, { zone: 'UTC' });
  const stop = DateTime.fromISO(first, { zone: 'UTC' });
  while (d >= stop && days.length < limit) {
    days.unshift(d.toISODate()!);
    d = d.minus({ days: 1 });
  }
  return days;
}

/**
 * A sequence's numbers: enrolled and positive replies from its enrolments; sends, human opens, clicks, replies,
 * bounces and unsubscribes per step from the counters the bulk engine keeps (`delivery_stats`, source `sequence`,
 * keyed by step); per day from the hourly counters and the replies; each pool mailbox's daily volume against its cap.
 */
export class SequenceReports {
  readonly #orm: MikroORM;
  readonly #mailboxes: SequenceMailboxesService;

  constructor(orm: MikroORM, mailboxes: SequenceMailboxesService) {
    this.#orm = orm;
    this.#mailboxes = mailboxes;
  }

  report(actor: Actor, id: string, now = new Date()): Promise<SequenceReport> {
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const s = await findSequence(uow, id);
      const steps = await em.find(SequenceStepSchema, { sequenceId: s.id } as never, { orderBy: { position: 'asc' } });
      const stepIds = pgArray(steps.map((st) => st.id));
      const [people] = (await em.execute(
        `select count(*)::int as enrolled, count(*) filter (where positive)::int as positive
           from sequence_enrolments where tenant_id = filo_current_tenant() and sequence_id = ?`,
        [s.id],
      )) as [{ enrolled: number; positive: number }];
      const stats = (await em.execute(
        `select source_id, ${COUNTERS.map((k) => `sum("${k}")::int as "${k}"`).join(', ')} from delivery_stats
          where tenant_id = filo_current_tenant() and source = 'sequence' and source_id = any(?::uuid[])
          group by source_id`,
        [stepIds],
      )) as (Counters & { source_id: string })[];
      const byStep = new Map(stats.map(({ source_id, ...c }) => [source_id, c]));
      const totals = zero();
      for (const c of byStep.values()) for (const k of COUNTERS) totals[k] += c[k];

      const [{ time_zone: zone }] = (await em.execute(`select time_zone from tenants where id = ?`, [
        actor.tenantId,
      ])) as [{ time_zone: string }];
      const sentDays = (await em.execute(
        `select to_char(hour at time zone ?, 'YYYY-MM-DD') as day, sum(sent)::int as n from delivery_stat_hours
          where tenant_id = filo_current_tenant() and source = 'sequence' and source_id = any(?::uuid[])
          group by 1`,
        [zone, stepIds],
      )) as { day: string; n: number }[];
      const replyDays = (await em.execute(
        `select to_char(replied_at at time zone ?, 'YYYY-MM-DD') as day, count(*)::int as n from sequence_enrolments
          where tenant_id = filo_current_tenant() and sequence_id = ? and replied_at is not null group by 1`,
        [zone, s.id],
      )) as { day: string; n: number }[];
      const sent = new Map(sentDays.map((r) => [r.day, r.n]));
      const replied = new Map(replyDays.map((r) => [r.day, r.n]));
      const seen = [...sent.keys(), ...replied.keys()].sort();
      const days = seen.length
        ? dayRange(seen[0]!, seen[seen.length - 1]!, CHART_DAYS).map((day) => ({
            day,
            sent: sent.get(day) ?? 0,
            replied: replied.get(day) ?? 0,
          }))
        : [];

      const pinned = (await em.execute(
        `select distinct mailbox_id from sequence_enrolments
          where tenant_id = filo_current_tenant() and sequence_id = ? and mailbox_id is not null`,
        [s.id],
      )) as { mailbox_id: string }[];
      const poolIds = [...new Set([...s.mailboxIds, ...pinned.map((r) => r.mailbox_id)])];
      const pool = await this.#mailboxes.sendingOf(uow, poolIds, now);
      const mailboxes = [];
      for (const m of pool) {
        const today = DateTime.fromJSDate(now, { zone: m.timeZone }).startOf('day');
        const since = today.minus({ days: MAILBOX_DAYS - 1 });
        const volume = (await em.execute(
          `select to_char(sent_at at time zone ?, 'YYYY-MM-DD') as day, count(*)::int as n from bulk_sends
            where tenant_id = filo_current_tenant() and source = 'sequence' and mailbox_id = ? and status = 'sent'
              and sent_at >= ? group by 1`,
          [m.timeZone, m.mailboxId, since.toJSDate()],
        )) as { day: string; n: number }[];
        const perDay = new Map(volume.map((r) => [r.day, r.n]));
        mailboxes.push({
          mailboxId: m.mailboxId,
          address: m.address,
          days: dayRange(since.toISODate()!, today.toISODate()!, MAILBOX_DAYS).map((day) => ({
            day,
            sent: perDay.get(day) ?? 0,
            cap: m.warmup.currentCap,
          })),
        });
      }
      return {
        enrolled: people.enrolled,
        positiveReplies: people.positive,
        totals,
        steps: steps
          .filter((st) => !st.deletedAt)
          .map((st) => ({ stepId: st.id, position: st.position, kind: st.kind, ...(byStep.get(st.id) ?? zero()) })),
        days,
        mailboxes,
      };
    });
  }
}
