/** Meetings laid out by day, as a simple agenda: one group per local calendar day, in time order. */
import { locale } from '#lib/i18n/index.svelte.ts';
import type { Meeting } from '#contracts/meetings';

export interface MeetingDay {
  /** The local date, YYYY-MM-DD. */
  key: string;
  /** "Today", "Tomorrow", "Yesterday", or the weekday and date. */
  label: string;
  /** Whether the day is today (the agenda scrolls to it). */
  today: boolean;
  items: Meeting[];
}

const pad = (n: number) => String(n).padStart(2, '0');
const dayKey = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const startOfDay = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();

/** The day's heading in the interface language: relative for yesterday, today and tomorrow. */
export function dayLabel(day: Date, now: Date): string {
  const offset = Math.round((startOfDay(day) - startOfDay(now)) / 86_400_000);
  const full = new Intl.DateTimeFormat(locale.tag, { weekday: 'long', day: 'numeric', month: 'long' }).format(day);
  if (Math.abs(offset) > 1) return full.charAt(0).toUpperCase() + full.slice(1);
  const rel = new Intl.RelativeTimeFormat(locale.tag, { numeric: 'auto' }).format(offset, 'day');
  return `${rel.charAt(0).toUpperCase()}${rel.slice(1)} · ${full}`;
}

/** When a meeting sits in the agenda: its planned start (an instant call's is when it was started). */
const at = (m: Meeting) => new Date(m.scheduledAt ?? m.startedAt ?? m.createdAt);

export function groupByDay(meetings: Meeting[], now = new Date()): MeetingDay[] {
  const days = new Map<string, MeetingDay>();
  const sorted = [...meetings].sort((a, b) => at(a).getTime() - at(b).getTime());
  for (const m of sorted) {
    const d = at(m);
    const key = dayKey(d);
    let day = days.get(key);
    if (!day) {
      day = { key, label: dayLabel(d, now), today: key === dayKey(now), items: [] };
      days.set(key, day);
    }
    day.items.push(m);
  }
  return [...days.values()];
}

/** "15:00 – 15:45" in the interface language: as planned, or as it happened once the call is over. */
export function timeRange(m: Meeting): string {
  const happened = m.status === 'completed' && m.startedAt && m.endedAt;
  const start = happened ? new Date(m.startedAt!) : at(m);
  const end = happened ? new Date(m.endedAt!) : new Date(start.getTime() + m.durationMinutes * 60_000);
  const fmt = new Intl.DateTimeFormat(locale.tag, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return `${fmt.format(start)} – ${fmt.format(end)}`;
}
