import { DateTime } from 'luxon';
import type { TimeWindow } from '#contracts/sequences';
import { countryZone } from './countries.ts';

/** Pure zone math of sequences (no I/O): the prospect's zone, send windows, waits. Instants are epoch ms or Dates. */

export type ZoneSource = 'contact' | 'country' | 'mailbox';

/** A valid IANA zone name (what luxon and Intl accept), never a fixed offset typed by hand. */
export function isZone(zone: string | null | undefined): zone is string {
  if (!zone || !/^[A-Za-z]+(?:\/[A-Za-z0-9_+-]+)*$/.test(zone)) return false;
  return DateTime.now().setZone(zone).isValid;
}

/** The prospect's zone: the contact's own, else their company's country's, else the sending mailbox's. */
export function prospectZone(input: { contactZone?: string | null; country?: string | null; mailboxZone: string }): {
  zone: string;
  source: ZoneSource;
} {
  if (isZone(input.contactZone)) return { zone: input.contactZone, source: 'contact' };
  const byCountry = countryZone(input.country);
  if (byCountry) return { zone: byCountry, source: 'country' };
  return { zone: isZone(input.mailboxZone) ? input.mailboxZone : 'UTC', source: 'mailbox' };
}

/** Who sends: the mailbox's workday in its zone; `id` seeds its daily jitter. */
export interface MailboxHours {
  id: string;
  zone: string;
  workday: TimeWindow;
}

/** Who receives: the sequence's window in the prospect's zone. */
export interface ProspectHours {
  zone: string;
  window: TimeWindow;
}

type Span = [number, number];

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** A local wall time on a local date; a time in a skipped hour moves forward (luxon's rule), never backward. */
function at(day: DateTime, mins: number): number {
  return DateTime.fromObject(
    { year: day.year, month: day.month, day: day.day, hour: Math.floor(mins / 60), minute: mins % 60 },
    { zone: day.zone },
  ).toMillis();
}

/** FNV-1a: a stable small hash (the same mailbox and day always get the same jitter). */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A person does not start at 09:00:00 sharp: each mailbox's day starts 3-27 minutes late and ends 3-27 minutes
 * early, the same for a mailbox on a local day, different from day to day (never outside its configured hours).
 */
export function workdayJitter(mailboxId: string, localDate: string): { start: number; end: number } {
  const h = hash(`${mailboxId}:${localDate}`);
  return { start: 3 + (h % 25), end: 3 + ((h >>> 8) % 25) };
}

/** The open spans of a window on the local days around [from, to] (lunch taken out), in epoch ms, sorted. */
function windowSpans(
  zone: string,
  w: TimeWindow,
  from: number,
  to: number,
  jitterOf?: (date: string) => { start: number; end: number },
): Span[] {
  const out: Span[] = [];
  const first = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 });
  const ws = minutes(w.start);
  const we = minutes(w.end);
  const crossing = we <= ws;
  for (let d = first; d.toMillis() <= to; d = d.plus({ days: 1 })) {
    if (!w.days.includes(d.weekday)) continue;
    // A round-the-clock workday has no start or end to be late for.
    const j = jitterOf && ws !== we ? jitterOf(d.toISODate()!) : { start: 0, end: 0 };
    const span = crossing ? ws + (1440 - ws + we) : we;
    const js = Math.min(j.start, Math.max(0, Math.floor((span - ws) / 3)));
    const je = Math.min(j.end, Math.max(0, Math.floor((span - ws) / 3)));
    const startMin = ws + js;
    const endMin = span - je;
    const s = at(d, startMin);
    const e = endMin >= 1440 ? at(d.plus({ days: 1 }), endMin - 1440) : at(d, endMin);
    if (e <= s) continue;
    if (w.lunch) {
      let ls = minutes(w.lunch.start);
      let le = minutes(w.lunch.end);
      if (le <= ls) le += 1440;
      // A crossing window's lunch before its start is on the next day.
      if (crossing && ls < ws) {
        ls += 1440;
        le += 1440;
      }
      const l0 = ls >= 1440 ? at(d.plus({ days: 1 }), ls - 1440) : at(d, ls);
      const l1 = le >= 1440 ? at(d.plus({ days: 1 }), le - 1440) : at(d, le);
      if (l1 > l0 && l0 < e && l1 > s) {
        if (l0 > s) out.push([s, l0]);
        if (e > l1) out.push([l1, e]);
        continue;
      }
    }
    out.push([s, e]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

function intersect(a: Span[], b: Span[]): Span[] {
  const out: Span[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const s = Math.max(a[i]![0], b[j]![0]);
    const e = Math.min(a[i]![1], b[j]![1]);
    if (e > s) out.push([s, e]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

/** How far ahead a slot is looked for (a window and a workday that never meet give none). */
const HORIZON_DAYS = 21;

/**
 * The first instant >= `notBefore` inside both the prospect's window (their zone) and the mailbox's jittered
 * workday with its lunch (its zone); null when the two never meet within three weeks. Only ever delays.
 */
export function nextSendTime(notBefore: Date, prospect: ProspectHours, mailbox: MailboxHours): Date | null {
  const from = notBefore.getTime();
  let to = from + 7 * 86_400_000;
  const limit = from + HORIZON_DAYS * 86_400_000;
  for (;;) {
    const spans = intersect(
      windowSpans(prospect.zone, prospect.window, from, to),
      windowSpans(mailbox.zone, mailbox.workday, from, to, (date) => workdayJitter(mailbox.id, date)),
    );
    const hit = spans.find(([, e]) => e > from);
    if (hit) return new Date(Math.max(hit[0], from));
    if (to >= limit) return null;
    to = Math.min(limit, to + 7 * 86_400_000);
  }
}

/** Whether an instant falls inside a window in a zone (the test of every slot; lunch and days included). */
export function insideWindow(
  instant: Date,
  zone: string,
  w: TimeWindow,
  jitterOf?: (date: string) => { start: number; end: number },
): boolean {
  const t = instant.getTime();
  return windowSpans(zone, w, t, t, jitterOf).some(([s, e]) => t >= s && t < e);
}

/** A wait step's end: days (+hours) from `from` in the prospect's zone; business days skip Saturday and Sunday. */
export function afterWait(
  from: Date,
  wait: { days: number; hours: number; businessDays: boolean },
  zone: string,
): Date {
  let t = DateTime.fromJSDate(from, { zone: isZone(zone) ? zone : 'UTC' });
  if (!wait.businessDays) t = t.plus({ days: wait.days });
  else {
    // A wait started on a weekend counts from Monday.
    while (t.weekday > 5) t = t.plus({ days: 1 });
    for (let left = wait.days; left > 0;) {
      t = t.plus({ days: 1 });
      if (t.weekday <= 5) left--;
    }
  }
  return t.plus({ hours: wait.hours }).toJSDate();
}

/** Midnight of the local day of `instant` in `zone`, and of the next local day (for daily caps). */
export function localDay(instant: Date, zone: string): { start: Date; end: Date; date: string } {
  const d = DateTime.fromJSDate(instant, { zone }).startOf('day');
  return { start: d.toJSDate(), end: d.plus({ days: 1 }).toJSDate(), date: d.toISODate()! };
}

/** The hour of `instant` (hours are the same in every zone of whole-hour offsets; half-hour zones use their own). */
export function localHour(instant: Date, zone: string): { start: Date; end: Date } {
  const h = DateTime.fromJSDate(instant, { zone }).startOf('hour');
  return { start: h.toJSDate(), end: h.plus({ hours: 1 }).toJSDate() };
}
