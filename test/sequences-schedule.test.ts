import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { TimeWindow } from '#contracts/sequences';
import {
  afterWait,
  insideWindow,
  nextSendTime,
  prospectZone,
  workdayJitter,
  type MailboxHours,
} from '../server/sequences/engine/schedule.ts';

// Pure zone math of sequences: every slot inside both windows, across DST and midnight, only ever later.

const WEEKDAYS = [1, 2, 3, 4, 5];
const win = (start: string, end: string, days = WEEKDAYS, lunch: TimeWindow['lunch'] = null): TimeWindow => ({
  start,
  end,
  days,
  lunch,
});
const rome: MailboxHours = {
  id: 'mbx-1',
  zone: 'Europe/Rome',
  workday: win('09:00', '18:00', WEEKDAYS, { start: '13:00', end: '14:00' }),
};
const local = (d: Date, zone: string) => DateTime.fromJSDate(d, { zone });
const jitter = (id: string) => (date: string) => workdayJitter(id, date);

/** A small deterministic generator (the same cases every run). */
function rng(seed: number) {
  return () => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed / 2 ** 32;
  };
}

describe('prospect zone', () => {
  it("uses the contact's valid zone, else the company's country (ISO, English, Italian), else the mailbox's", () => {
    expect(prospectZone({ contactZone: 'America/Chicago', country: 'IT', mailboxZone: 'Europe/Rome' })).toEqual({
      zone: 'America/Chicago',
      source: 'contact',
    });
    for (const country of ['DE', 'Germany', 'germania', ' Germania '])
      expect(prospectZone({ contactZone: 'Mars/Olympus', country, mailboxZone: 'Europe/Rome' })).toEqual({
        zone: 'Europe/Berlin',
        source: 'country',
      });
    expect(prospectZone({ contactZone: null, country: 'Stati Uniti', mailboxZone: 'Europe/Rome' }).zone).toBe(
      'America/New_York',
    );
    expect(prospectZone({ contactZone: '+02:00', country: 'Atlantis', mailboxZone: 'Europe/Lisbon' })).toEqual({
      zone: 'Europe/Lisbon',
      source: 'mailbox',
    });
  });
});

describe('send windows', () => {
  it('every slot of many random prospects and zones is inside their window and the jittered workday, and never earlier', () => {
    const zones = [
      'Europe/Rome',
      'America/New_York',
      'Asia/Tokyo',
      'Australia/Sydney',
      'Asia/Kolkata',
      'Europe/London',
    ];
    const next = rng(42);
    let found = 0;
    for (let i = 0; i < 250; i++) {
      const zone = zones[Math.floor(next() * zones.length)]!;
      const startH = 6 + Math.floor(next() * 6);
      const window = win(
        `${String(startH).padStart(2, '0')}:30`,
        `${String(startH + 6 + Math.floor(next() * 6)).padStart(2, '0')}:00`,
      );
      const mailbox: MailboxHours = { ...rome, id: `mbx-${i % 7}` };
      // Any instant of 2026, DST changes included.
      const notBefore = new Date(Date.UTC(2026, 0, 1) + Math.floor(next() * 365 * 86_400_000));
      const slot = nextSendTime(notBefore, { zone, window }, mailbox);
      if (!slot) continue;
      found++;
      expect(slot.getTime()).toBeGreaterThanOrEqual(notBefore.getTime());
      expect(insideWindow(slot, zone, window), `${zone} ${slot.toISOString()}`).toBe(true);
      expect(insideWindow(slot, mailbox.zone, mailbox.workday, jitter(mailbox.id))).toBe(true);
      // Not lunch, not a weekend in Rome.
      const r = local(slot, 'Europe/Rome');
      expect(r.hour === 13).toBe(false);
      expect(r.weekday).toBeLessThanOrEqual(5);
      // The first such instant: a minute earlier (when not notBefore itself) is outside one of the two.
      if (slot.getTime() > notBefore.getTime()) {
        const before = new Date(slot.getTime() - 60_000);
        expect(
          insideWindow(before, zone, window) && insideWindow(before, mailbox.zone, mailbox.workday, jitter(mailbox.id)),
        ).toBe(false);
      }
    }
    // Most prospects share hours with a Rome workday (Tokyo and Sydney mornings overlap little or none).
    expect(found).toBeGreaterThan(120);
  });

  it('the workday starts a few minutes late and ends a few early, the same all day, changing from day to day', () => {
    const days = Array.from({ length: 30 }, (_, i) => DateTime.fromISO('2026-03-02').plus({ days: i }).toISODate()!);
    const starts = new Set<number>();
    for (const d of days) {
      const j = workdayJitter('mbx-1', d);
      expect(j).toEqual(workdayJitter('mbx-1', d));
      expect(j.start).toBeGreaterThanOrEqual(3);
      expect(j.start).toBeLessThanOrEqual(27);
      expect(j.end).toBeGreaterThanOrEqual(3);
      expect(j.end).toBeLessThanOrEqual(27);
      starts.add(j.start);
    }
    expect(starts.size).toBeGreaterThan(5);
    const monday = DateTime.fromISO('2026-03-02T07:00:00', { zone: 'Europe/Rome' }).toJSDate();
    const slot = nextSendTime(
      monday,
      { zone: 'Europe/Rome', window: win('00:00', '00:00', [1, 2, 3, 4, 5, 6, 7]) },
      rome,
    )!;
    const at = local(slot, 'Europe/Rome');
    expect(at.hour).toBe(9);
    expect(at.minute).toBe(workdayJitter('mbx-1', '2026-03-02').start);
  });

  it('Europe/Rome on the last Sunday of March: no slot in the skipped hour', () => {
    // 2026-03-29: 02:00 -> 03:00. A prospect window 02:00-04:00 is one real hour, from 03:00 CEST.
    const night: MailboxHours = { id: 'n', zone: 'Europe/Rome', workday: win('00:00', '00:00', [1, 2, 3, 4, 5, 6, 7]) };
    const window = win('02:00', '04:00', [7]);
    const slot = nextSendTime(new Date('2026-03-28T23:00:00Z'), { zone: 'Europe/Rome', window }, night)!;
    expect(slot.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    expect(local(slot, 'Europe/Rome').toFormat('HH:mm ZZ')).toBe('03:00 +02:00');
    for (let t = Date.parse('2026-03-29T00:00:00Z'); t < Date.parse('2026-03-29T02:00:00Z'); t += 60_000) {
      const s = nextSendTime(new Date(t), { zone: 'Europe/Rome', window }, night)!;
      // 01:00Z-02:00Z is 03:00-04:00 CEST; before it, the window's first instant (there is no 02:xx that day).
      expect(s.getTime()).toBe(Math.max(t, Date.parse('2026-03-29T01:00:00Z')));
      expect(local(s, 'Europe/Rome').hour).toBe(3);
    }
  });

  it('Europe/Rome on the last Sunday of October: the repeated hour is a window once, not twice', () => {
    // 2026-10-25: 03:00 CEST -> 02:00 CET. The wall time 02:00-03:00 happens twice; the window holds it once.
    const night: MailboxHours = { id: 'n', zone: 'Europe/Rome', workday: win('00:00', '00:00', [1, 2, 3, 4, 5, 6, 7]) };
    const window = win('02:00', '03:00', [7]);
    const seen = new Set<number>();
    let prev = 0;
    for (let t = Date.parse('2026-10-24T23:30:00Z'); t < Date.parse('2026-10-25T02:30:00Z'); t += 5 * 60_000) {
      const s = nextSendTime(new Date(t), { zone: 'Europe/Rome', window }, night)!;
      expect(s.getTime()).toBeGreaterThanOrEqual(t);
      expect(s.getTime()).toBeGreaterThanOrEqual(prev);
      prev = s.getTime();
      if (s.getTime() < Date.parse('2026-10-26T00:00:00Z')) {
        expect(local(s, 'Europe/Rome').hour).toBe(2);
        seen.add(s.getTime());
      }
    }
    // One real hour of slots (01:00Z-01:55Z, the second 02:xx), never the same wall time twice.
    expect(Math.min(...seen)).toBe(Date.parse('2026-10-25T01:00:00Z'));
    expect(Math.max(...seen)).toBe(Date.parse('2026-10-25T01:55:00Z'));
    expect(seen.size).toBe(12);
    expect(new Set([...seen].map((t) => local(new Date(t), 'Europe/Rome').toFormat('HH:mm'))).size).toBe(12);
  });

  it('a window crossing midnight opens on its days and closes the next morning', () => {
    const night: MailboxHours = { id: 'n', zone: 'UTC', workday: win('00:00', '00:00', [1, 2, 3, 4, 5, 6, 7]) };
    const window = win('22:00', '02:00', [5]);
    // Friday 2026-12-04 20:00 Rome: the window opens at 22:00 and runs into Saturday 02:00.
    const fri = DateTime.fromISO('2026-12-04T20:00', { zone: 'Europe/Rome' });
    expect(local(nextSendTime(fri.toJSDate(), { zone: 'Europe/Rome', window }, night)!, 'Europe/Rome').toISO()).toBe(
      '2026-12-04T22:00:00.000+01:00',
    );
    const sat1 = fri.plus({ hours: 5 }).toJSDate();
    expect(nextSendTime(sat1, { zone: 'Europe/Rome', window }, night)!.getTime()).toBe(sat1.getTime());
    expect(insideWindow(sat1, 'Europe/Rome', window)).toBe(true);
    // Saturday 02:00 is closed; the next opening is next Friday 22:00.
    const sat2 = fri.plus({ hours: 6 }).toJSDate();
    expect(local(nextSendTime(sat2, { zone: 'Europe/Rome', window }, night)!, 'Europe/Rome').toISO()).toBe(
      '2026-12-11T22:00:00.000+01:00',
    );
    // Thursday night (not a window day) is closed even past midnight into Friday.
    expect(
      insideWindow(DateTime.fromISO('2026-12-04T01:00', { zone: 'Europe/Rome' }).toJSDate(), 'Europe/Rome', window),
    ).toBe(false);
  });

  it('a window and a workday that never meet give no slot', () => {
    const slot = nextSendTime(
      new Date('2026-06-01T00:00:00Z'),
      { zone: 'Europe/Rome', window: win('20:00', '22:00') },
      rome,
    );
    expect(slot).toBeNull();
  });
});

describe('waits', () => {
  it('counts calendar days in the prospect zone across DST, and business days skipping the weekend', () => {
    const sat = DateTime.fromISO('2026-03-28T10:00', { zone: 'Europe/Rome' }).toJSDate();
    // Same local time two days later although the day of the change is 23 hours long.
    expect(
      local(afterWait(sat, { days: 2, hours: 0, businessDays: false }, 'Europe/Rome'), 'Europe/Rome').toISO(),
    ).toBe('2026-03-30T10:00:00.000+02:00');
    const thu = DateTime.fromISO('2026-12-03T15:00', { zone: 'Europe/Rome' }).toJSDate();
    expect(local(afterWait(thu, { days: 2, hours: 3, businessDays: true }, 'Europe/Rome'), 'Europe/Rome').toISO()).toBe(
      '2026-12-07T18:00:00.000+01:00',
    );
    expect(
      local(afterWait(thu, { days: 2, hours: 0, businessDays: false }, 'Europe/Rome'), 'Europe/Rome').weekday,
    ).toBe(6);
    // From a Saturday, one business day is Tuesday's same time (Monday counts as the start).
    const satDec = DateTime.fromISO('2026-12-05T09:00', { zone: 'Europe/Rome' }).toJSDate();
    expect(
      local(afterWait(satDec, { days: 1, hours: 0, businessDays: true }, 'Europe/Rome'), 'Europe/Rome').toISODate(),
    ).toBe('2026-12-08');
    // In the prospect's zone: Friday evening in New York is Saturday in Rome.
    const friNy = DateTime.fromISO('2026-12-04T20:00', { zone: 'America/New_York' }).toJSDate();
    expect(
      local(
        afterWait(friNy, { days: 1, hours: 0, businessDays: true }, 'America/New_York'),
        'America/New_York',
      ).toISO(),
    ).toBe('2026-12-07T20:00:00.000-05:00');
  });
});
