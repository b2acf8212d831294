import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useE2e } from '../support/e2e.ts';
import { withAdmin as withDatabase } from '../support/postgres.ts';

/**
 * The campaign report in Chromium: big numbers with rates, the chart over time and the links chart drawn (SVG), the
 * A/B comparison with the winner and why, and, while a campaign sends, a progress bar that follows the counters.
 */

const e2e = useE2e('newsletter-report');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sql = <T = any>(q: string, params: unknown[] = []) =>
  withDatabase(e2e.databaseUrl, async (c) => (await c.query(q, params)).rows as T[]);

async function tenantId(): Promise<string> {
  const [t] = await sql(
    `select t.id from tenants t join memberships m on m.tenant_id = t.id join users u on u.id = m.user_id
      where u.email = 'demo@filo.local' limit 1`,
  );
  return t.id;
}

/** A campaign with its counters as the engine and the tracking routes leave them. */
async function campaign(
  tenant: string,
  c: { name: string; status: string; ab?: boolean },
  stats: { variant: string; recipients: number; sent: number; bounced: number; opened: number; clicked: number }[],
) {
  const id = randomUUID();
  const startedAt = new Date(Date.now() - 3 * 3_600_000);
  const variants = c.ab
    ? [
        { key: 'A', subject: 'Autumn offers', content: null, weight: 50 },
        { key: 'B', subject: 'Your autumn, 20% off', content: null, weight: 50 },
      ]
    : [];
  const reason = {
    metric: 'clicks',
    rule: 'metric',
    decidedAt: new Date(startedAt.getTime() + 3_600_000).toISOString(),
    variants: [
      { key: 'A', sent: 100, clicks: 4, replies: 0, rate: 0.04 },
      { key: 'B', sent: 100, clicks: 11, replies: 1, rate: 0.11 },
    ],
  };
  await sql(
    `insert into campaigns (id, tenant_id, name, status, subject, content, variants, ab, winner_variant, winner_reason,
                            winner_at, started_at)
     values ($1, $2, $3, $4, 'Autumn', '{"blocks":[]}', $5, $6, $7, $8, $9, $10)`,
    [
      id,
      tenant,
      c.name,
      c.status,
      JSON.stringify(variants),
      c.ab ? JSON.stringify({ metric: 'clicks', testPercent: 20, waitMinutes: 60 }) : null,
      c.ab ? 'B' : null,
      c.ab ? JSON.stringify(reason) : null,
      c.ab ? reason.decidedAt : null,
      startedAt,
    ],
  );
  for (const s of stats)
    await sql(
      `insert into delivery_stats (tenant_id, source, source_id, variant, recipients, sent, bounced, opened, clicked)
       values ($1, 'campaign', $2, $3, $4, $5, $6, $7, $8)`,
      [tenant, id, s.variant, s.recipients, s.sent, s.bounced, s.opened, s.clicked],
    );
  for (const [h, sent, opened, clicked] of [
    [3, 300, 20, 3],
    [2, 0, 90, 12],
    [1, 0, 40, 6],
  ] as const)
    await sql(
      `insert into delivery_stat_hours (tenant_id, source, source_id, hour, sent, opened, clicked)
       values ($1, 'campaign', $2, date_trunc('hour', now()) - make_interval(hours => $3), $4, $5, $6)`,
      [tenant, id, h, sent, opened, clicked],
    );
  await sql(
    `insert into delivery_links (tenant_id, source, source_id, link_index, url, clicks, human_clicks)
     values ($1, 'campaign', $2, 0, 'https://shop.example.org/autumn', 30, 18),
            ($1, 'campaign', $2, 1, 'https://shop.example.org/contact', 5, 3)`,
    [tenant, id],
  );
  return id;
}

describe('the campaign report', () => {
  it(
    'shows the numbers, the charts and the A/B winner; follows a sending campaign live',
    { timeout: 90_000 },
    async () => {
      const tenant = await tenantId();
      const done = await campaign(tenant, { name: 'Autumn A/B', status: 'sent', ab: true }, [
        { variant: 'A', recipients: 100, sent: 100, bounced: 2, opened: 30, clicked: 4 },
        { variant: 'B', recipients: 100, sent: 100, bounced: 1, opened: 35, clicked: 11 },
        { variant: '', recipients: 0, sent: 0, bounced: 0, opened: 0, clicked: 0 },
      ]);
      const page = await (await e2e.newContext()).newPage();
      await e2e.signIn(page, 'demo@filo.local');
      await page.goto(`${e2e.filo.baseUrl}/newsletters/campaigns/${done}/report`);
      await page.getByRole('heading', { name: 'Report: Autumn A/B' }).waitFor();
      const number = (key: string) => page.getByTestId(`number-${key}`).innerText();
      await expect.poll(() => number('sent')).toContain('200');
      expect(await number('delivered')).toContain('197');
      // 65 openers of 197 delivered.
      expect(await number('opened')).toMatch(/65[\s\S]*33%/);
      expect(await number('clicked')).toMatch(/15[\s\S]*7.6%/);
      // The charts are drawn: SVG with marks, not an empty box.
      await expect.poll(() => page.getByTestId('hourly-chart').locator('svg path').count()).toBeGreaterThan(2);
      await expect.poll(() => page.getByTestId('links-chart').locator('svg rect, svg path').count()).toBeGreaterThan(1);
      expect(await page.getByRole('link', { name: /shop\.example\.org\/autumn/ }).count()).toBe(1);
      expect(await page.getByText('18 by people · 30 in all').count()).toBe(1);
      // The A/B block: both variants side by side, the winner and why.
      const ab = page.getByTestId('ab-block');
      expect(await ab.getByTestId('ab-winner').innerText()).toBe('Variant B won');
      expect(await ab.getByTestId('ab-variant').count()).toBe(2);
      expect(
        await ab
          .getByTestId('ab-variant')
          .filter({ has: page.getByText('Winner', { exact: true }) })
          .innerText(),
      ).toContain('Your autumn, 20% off');
      expect(await ab.getByTestId('ab-reason').innerText()).toContain('the highest share of people who clicked');
      expect(await ab.getByTestId('ab-reason').innerText()).toContain('Variant B: 100 sent, 11 people who clicked');
      expect(await page.getByTestId('progress').count()).toBe(0);

      // A campaign still sending: the bar follows the counters without a reload.
      const sending = await campaign(tenant, { name: 'Winter news', status: 'sending' }, [
        { variant: '', recipients: 40, sent: 10, bounced: 0, opened: 0, clicked: 0 },
      ]);
      await page.goto(`${e2e.filo.baseUrl}/newsletters/campaigns/${sending}/report`);
      const progress = page.getByTestId('progress');
      await expect.poll(() => progress.innerText()).toContain('10 of 40 done');
      expect(await progress.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('10');
      await sql(`update delivery_stats set sent = 30 where source_id = $1`, [sending]);
      await expect.poll(() => progress.innerText(), { timeout: 15_000 }).toContain('30 of 40 done');
      await sql(`update delivery_stats set sent = 40 where source_id = $1`, [sending]);
      await sql(`update campaigns set status = 'sent' where id = $1`, [sending]);
      await expect.poll(() => page.getByTestId('campaign-status').innerText(), { timeout: 15_000 }).toBe('Sent');
      expect(await page.getByTestId('progress').count()).toBe(0);
      expect(await page.getByTestId('ab-block').count()).toBe(0);

      // A list's page shows its growth per day (consents made as they stand, with their evidence rows).
      const listId = randomUUID();
      await sql(`insert into mailing_lists (id, tenant_id, name) values ($1, $2, 'Autumn readers')`, [listId, tenant]);
      for (const [who, status, daysAgo] of [
        ['a', 'subscribed', 2],
        ['b', 'subscribed', 1],
        ['c', 'unsubscribed', 0],
      ] as const) {
        const [consent] = await sql(
          `insert into consents (id, tenant_id, address_hash, list_id, status, source)
           values (gen_random_uuid(), $1, $2, $3, $4, 'form') returning id`,
          [tenant, `growth-${who}`, listId, status],
        );
        await sql(
          `insert into consent_events (id, tenant_id, consent_id, status, source, created_at)
           values (gen_random_uuid(), $1, $2, $3, 'form', now() - make_interval(days => $4))`,
          [tenant, consent.id, status, daysAgo],
        );
      }
      await page.goto(`${e2e.filo.baseUrl}/newsletters/lists/${listId}`);
      const growth = page.getByTestId('growth-chart');
      await expect.poll(() => growth.innerText()).toContain('2 subscribers now');
      expect(await growth.innerText()).toContain('+1 net');
      await expect.poll(() => growth.locator('svg rect, svg path').count()).toBeGreaterThan(1);
    },
  );
});
