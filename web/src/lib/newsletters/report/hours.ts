import type { DeliveryHour } from '#contracts/delivery';

const HOUR = 3_600_000;

export interface HourPoint {
  hour: Date;
  sent: number;
  opened: number;
  clicked: number;
}

/**
 * Every hour from the one before the first to the last, quiet ones at zero (at most 90 days of them): a campaign
 * sent within one hour still draws a line (one point alone draws nothing), and a gap reads as the quiet hours it was.
 */
export function hourlySeries(hours: DeliveryHour[]): HourPoint[] {
  if (!hours.length) return [];
  const byHour = new Map(hours.map((h) => [new Date(h.hour).getTime(), h]));
  const times = [...byHour.keys()];
  const last = Math.max(...times);
  const out: HourPoint[] = [];
  for (let at = Math.min(...times) - HOUR; at <= last && out.length < 24 * 90; at += HOUR) {
    const h = byHour.get(at);
    out.push({ hour: new Date(at), sent: h?.sent ?? 0, opened: h?.opened ?? 0, clicked: h?.clicked ?? 0 });
  }
  return out;
}
