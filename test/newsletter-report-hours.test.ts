import { describe, expect, it } from 'vitest';
import { hourlySeries } from '#lib/newsletters/report/hours.ts';

const at = (iso: string, sent: number, opened = 0, clicked = 0) => ({
  hour: iso,
  sent,
  opened,
  clicked,
  bounced: 0,
  unsubscribed: 0,
  complained: 0,
});

describe("the report's hourly series", () => {
  it('gives a campaign sent within one hour a line: the quiet hour before it, then its hour', () => {
    const series = hourlySeries([at('2026-12-05T16:00:00.000Z', 20)]);
    expect(series.map((p) => [p.hour.toISOString(), p.sent])).toEqual([
      ['2026-12-05T15:00:00.000Z', 0],
      ['2026-12-05T16:00:00.000Z', 20],
    ]);
  });

  it('fills the quiet hours between two active ones with zeros, in order', () => {
    const series = hourlySeries([at('2026-12-05T18:00:00.000Z', 0, 4, 1), at('2026-12-05T15:00:00.000Z', 10, 2)]);
    expect(series.map((p) => [p.hour.getUTCHours(), p.sent, p.opened, p.clicked])).toEqual([
      [14, 0, 0, 0],
      [15, 10, 2, 0],
      [16, 0, 0, 0],
      [17, 0, 0, 0],
      [18, 0, 4, 1],
    ]);
  });

  it('is empty without activity and never longer than 90 days of hours', () => {
    expect(hourlySeries([])).toEqual([]);
    const long = hourlySeries([at('2026-01-01T00:00:00.000Z', 1), at('2026-12-01T00:00:00.000Z', 1)]);
    expect(long).toHaveLength(24 * 90);
  });
});
