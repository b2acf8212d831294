/** When a task is due, said for the days around today: "Today 10:30", "Tomorrow 09:00", "Yesterday 16:00", a date. */
import { dateTime } from '#lib/format.ts';
import { locale, t } from '#lib/i18n/index.svelte.ts';

const dayNumber = (d: Date) => Math.round(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / 86_400_000);

export function dueLabel(value: string, now: number): string {
  const d = new Date(value);
  const days = dayNumber(d) - dayNumber(new Date(now));
  const time = new Intl.DateTimeFormat(locale.tag, { hour: '2-digit', minute: '2-digit' }).format(d);
  if (days === 0) return `${t().timeline.today} ${time}`;
  if (days === 1) return `${t().tasks.tomorrow} ${time}`;
  if (days === -1) return `${t().timeline.yesterday} ${time}`;
  return dateTime(d);
}
