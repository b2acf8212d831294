/** Numbers, money and dates in the interface language. */
import { locale, t } from './i18n/index.svelte.ts';

export function money(value: string | number | null | undefined, currency = 'EUR'): string {
  if (value === null || value === undefined || value === '') return t().common.none;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  return new Intl.NumberFormat(locale.tag, {
    style: 'currency',
    currency,
    maximumFractionDigits: Number.isInteger(n) ? 0 : 2,
  }).format(n);
}

/** Sums per currency, one formatted amount each (never run together), largest first; `[€0]` for nothing. */
export function moneyTotals(items: { value?: string | null; currency: string }[]): string[] {
  const sums = new Map<string, number>();
  for (const item of items) {
    if (!item.value) continue;
    sums.set(item.currency, (sums.get(item.currency) ?? 0) + Number(item.value));
  }
  if (sums.size === 0) return [money(0)];
  return [...sums].sort((a, b) => b[1] - a[1]).map(([currency, sum]) => money(Math.round(sum * 100) / 100, currency));
}

/** Sums per currency, e.g. "€45,000 + $1,200"; "€0" for nothing. */
export function moneyTotal(items: { value?: string | null; currency: string }[]): string {
  return moneyTotals(items).join(' + ');
}

/** A plain number in the interface language ("48.500.000,5" in Italian). */
export function number(value: number | string): string {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? new Intl.NumberFormat(locale.tag, { maximumFractionDigits: 2 }).format(n) : String(value);
}

export function date(value: string | null | undefined): string {
  if (!value) return t().common.none;
  const d = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00`) : new Date(value);
  return Number.isNaN(d.getTime()) ? value : new Intl.DateTimeFormat(locale.tag, { dateStyle: 'medium' }).format(d);
}

/** Italian (and British English) times read 24-hour, whatever the browser's own region prefers. */
const HOURS = { hourCycle: 'h23' } as const;

export function dateTime(value: string | Date): string {
  const d = new Date(value);
  return new Intl.DateTimeFormat(locale.tag, { dateStyle: 'medium', timeStyle: 'short', ...HOURS }).format(d);
}

/** "14:05". */
export function time(value: string | Date): string {
  return new Intl.DateTimeFormat(locale.tag, { hour: '2-digit', minute: '2-digit', ...HOURS }).format(new Date(value));
}

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/**
 * "Today 10:30", "Yesterday 09:15", "3 days ago 16:02", "in 2 days 09:00" within a week either way, else "12 Nov 2026 16:02".
 * `now` is a parameter so that a ticking clock can re-render it.
 */
export function when(value: string | Date, now: Date = new Date()): string {
  const d = new Date(value);
  const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000);
  const m = t().timeline;
  if (days === 0) return `${m.today} ${time(d)}`;
  if (days === 1) return `${m.yesterday} ${time(d)}`;
  // Within a week either way: "3 days ago", "tomorrow", "in 3 days" (a due date or a meeting ahead).
  if (days > -7 && days < 7) {
    const rel = new Intl.RelativeTimeFormat(locale.tag, { numeric: 'auto' }).format(-days, 'day');
    return `${rel} ${time(d)}`;
  }
  return dateTime(d);
}

/** "5 minutes ago", "2 hours ago", "3 days ago". */
export function ago(value: string | Date, now: Date = new Date()): string {
  const seconds = Math.round((new Date(value).getTime() - now.getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale.tag, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(0, 'second');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return rtf.format(Math.round(seconds / 3600), 'hour');
  if (abs < 30 * 86_400) return rtf.format(Math.round(seconds / 86_400), 'day');
  return date(new Date(value).toISOString());
}

export function fullName(c: { firstName: string; lastName: string }): string {
  return `${c.firstName} ${c.lastName}`.trim();
}

export function bytes(n: number | null | undefined): string {
  return n === null || n === undefined ? t().common.none : t().format.bytes(n);
}
