import type { EntityManager } from '@mikro-orm/postgresql';
import type { TimeWindow } from '#contracts/sequences';
import { localDay, localHour, nextSendTime, type ProspectHours } from './schedule.ts';

/** A mailbox's workday before anyone set it: office hours with a lunch pause. */
export const DEFAULT_WORKDAY: TimeWindow = {
  start: '09:00',
  end: '18:00',
  days: [1, 2, 3, 4, 5],
  lunch: { start: '13:00', end: '14:00' },
};

/** Caps looked past before giving up for now (a full day moves to the next: three weeks of full days at most). */
const MAX_TRIES = 60;

interface MailboxRules {
  daily_cap: number;
  hourly_cap: number;
  min_gap_seconds: number;
  max_gap_seconds: number;
  time_zone: string;
  workday: TimeWindow;
  warmup_enabled: boolean;
  warmup_start_cap: number;
  current_cap: number | null;
  last_slot_at: Date | null;
  paused_at: Date | null;
  domain: string | null;
}

export type Booking = { kind: 'slot'; at: Date } | { kind: 'paused' | 'none' };

/** The cap of a day: a warming mailbox's current cap (never above its daily cap). */
const capOf = (m: MailboxRules) =>
  m.warmup_enabled ? Math.min(m.daily_cap, m.current_cap ?? m.warmup_start_cap) : m.daily_cap;

/**
 * Books the next send slot of a mailbox for a prospect, in the caller's transaction (which then inserts the send row
 * at that time): the mailbox's `sequence_mailboxes` row is locked (made with defaults on first use), so bookers on
 * any number of nodes take turns and each sees the rows booked before it. The slot is the first instant >=
 * `notBefore` inside the prospect's window and the mailbox's workday where the mailbox's local day and hour are
 * under their caps and no other send of the mailbox is nearer than a random gap (minGap..maxGap). A paused mailbox
 * or sending domain books nothing.
 */
export async function bookSlot(
  em: EntityManager,
  input: {
    tenantId: string;
    mailboxId: string;
    defaultZone: string;
    /** `<slug>.<inbound domain>`: the domain of a mailbox without an address of its own. */
    ownDomain: string;
    prospect: ProspectHours;
    notBefore: Date;
  },
  random: () => number = Math.random,
): Promise<Booking> {
  const { tenantId, mailboxId } = input;
  await em.execute(
    `insert into sequence_mailboxes (mailbox_id, tenant_id, time_zone, workday) values (?, ?, ?, ?)
     on conflict (mailbox_id) do nothing`,
    [mailboxId, tenantId, input.defaultZone, JSON.stringify(DEFAULT_WORKDAY)],
  );
  const [m] = (await em.execute(
    `select sm.*, lower(split_part(coalesce(mb.address, mb.local_part || '@' || ?), '@', 2)) as domain
       from sequence_mailboxes sm join mailboxes mb on mb.id = sm.mailbox_id
      where sm.mailbox_id = ? and sm.tenant_id = ? for update of sm`,
    [input.ownDomain, mailboxId, tenantId],
  )) as MailboxRules[];
  if (!m || m.paused_at) return { kind: 'paused' };
  if (m.domain) {
    const [d] = (await em.execute(
      `select 1 from sequence_domains where tenant_id = ? and domain = ? and paused_at is not null`,
      [tenantId, m.domain],
    )) as unknown[];
    if (d) return { kind: 'paused' };
  }
  const hours = { id: mailboxId, zone: m.time_zone, workday: m.workday };
  const lo = Math.min(m.min_gap_seconds, m.max_gap_seconds);
  const hi = Math.max(m.min_gap_seconds, m.max_gap_seconds);
  const gapMs = Math.round((lo + random() * (hi - lo)) * 1000);
  const cap = capOf(m);
  let candidate = input.notBefore;
  for (let i = 0; i < MAX_TRIES; i++) {
    const slot = nextSendTime(candidate, input.prospect, hours);
    if (!slot) return { kind: 'none' };
    const day = localDay(slot, m.time_zone);
    const hour = localHour(slot, m.time_zone);
    const near0 = new Date(slot.getTime() - gapMs);
    const near1 = new Date(slot.getTime() + gapMs);
    const [c] = (await em.execute(
      `select count(*) filter (where t >= ?::timestamptz and t < ?::timestamptz)::int as day,
              count(*) filter (where t >= ?::timestamptz and t < ?::timestamptz)::int as hour,
              max(t) filter (where t > ?::timestamptz and t < ?::timestamptz) as near
         from (select coalesce(sent_at, next_attempt_at) as t from bulk_sends
                where tenant_id = ? and mailbox_id = ? and source = 'sequence' and status <> 'cancelled'
                  and next_attempt_at >= ?::timestamptz - interval '1 day'
                  and next_attempt_at < ?::timestamptz + interval '1 day') x`,
      [
        day.start,
        day.end,
        hour.start,
        hour.end,
        near0,
        near1,
        tenantId,
        mailboxId,
        new Date(Math.min(day.start.getTime(), near0.getTime())),
        new Date(Math.max(day.end.getTime(), near1.getTime())),
      ],
    )) as { day: number; hour: number; near: Date | null }[];
    if (c!.day >= cap) candidate = day.end;
    else if (c!.hour >= m.hourly_cap) candidate = hour.end;
    else if (c!.near) candidate = new Date(new Date(c!.near).getTime() + gapMs);
    else {
      await em.execute(
        `update sequence_mailboxes set last_slot_at = greatest(coalesce(last_slot_at, ?), ?), updated_at = now()
          where mailbox_id = ?`,
        [slot, slot, mailboxId],
      );
      return { kind: 'slot', at: slot };
    }
  }
  return { kind: 'none' };
}
