import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bumpStats } from '../server/delivery/bulk/stats.ts';
import { BULK_DISPATCH_QUEUE } from '../server/delivery/bulk/types.ts';
import { pickWinner } from '../server/newsletters/ab.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * The A/B winner: once the wait is over, the variant with the highest rate of people's clicks (or replies) wins,
 * whatever scanners and prefetchers did; the held remainder goes to it, exactly once across nodes.
 */

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SCANNER = 'Mozilla/5.0 (compatible; BingPreview/1.0b)';
const MINUTE = 60_000;

let filo: TestFilo;
let demo: ApiClient;
let tenantId: string;
const contactIds: string[] = [];

const sql = (q: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(tenantId), ({ em }) => em.execute(q, params));

/**
 * A campaign in its test: two rows per variant sent 40 minutes ago, `held` rows waiting; it waits an hour (so the
 * worker's own schedule, on the real clock, leaves it to the test's later clocks).
 */
async function testCampaign(name: string, held: number, metric: 'clicks' | 'replies' = 'clicks') {
  return inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
    const startedAt = new Date(Date.now() - 40 * MINUTE);
    const [c] = (await em.execute(
      `insert into campaigns (id, tenant_id, name, status, subject, content, variants, ab, started_at)
       values (gen_random_uuid(), ?, ?, 'sending', 'Hello', '{"blocks":[]}', ?, ?, ?) returning id`,
      [
        tenantId,
        name,
        JSON.stringify([
          { key: 'A', subject: 'Hello A', content: null, weight: 50 },
          { key: 'B', subject: 'Hello B', content: null, weight: 50 },
        ]),
        JSON.stringify({ metric, testPercent: 40, waitMinutes: 60 }),
        startedAt,
      ],
    )) as [{ id: string }];
    const sends: Record<string, string[]> = { A: [], B: [], held: [] };
    const plan: (string | null)[] = ['A', 'A', 'B', 'B', ...Array<null>(held).fill(null)];
    for (const [i, variant] of plan.entries()) {
      const [row] = (await em.execute(
        `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, variant, status, message_id,
                                 sent_at, next_attempt_at)
         values (gen_random_uuid(), ?, 'campaign', ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
        [
          tenantId,
          c.id,
          contactIds[i],
          `p${i}@ab.test`,
          variant,
          variant ? 'sent' : 'pending',
          `<${name}-${i}@t>`,
          variant ? startedAt : null,
          variant ? startedAt : 'infinity',
        ],
      )) as [{ id: string }];
      sends[variant ?? 'held']!.push(row.id);
      const key = { tenantId, source: 'campaign' as const, sourceId: c.id, variant };
      await bumpStats(em, key, variant ? { recipients: 1, sent: 1 } : { recipients: 1 }, startedAt);
    }
    await em.execute(
      `insert into delivery_links (tenant_id, source, source_id, link_index, url) values (?, 'campaign', ?, 0, 'https://filo.example/a')`,
      [tenantId, c.id],
    );
    return { id: c.id, sends, startedAt };
  });
}

const click = (sendId: string, ua: string) =>
  fetch(`${filo.baseUrl}/t/b/${filo.services.bulkTokens.sign({ sendId, kind: 'click', index: 0 })}`, {
    headers: { 'user-agent': ua },
    redirect: 'manual',
  });
const ownerDb = () => filo.jobs!.boss.getDb();
async function dispatchJobs(campaignId: string): Promise<number> {
  const { rows } = await ownerDb().executeSql(
    `select count(*)::int as n from pgboss.job where name = $1 and data->>'sourceId' = $2`,
    [BULK_DISPATCH_QUEUE, campaignId],
  );
  return (rows[0] as { n: number }).n;
}

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
  for (let i = 0; i < 12; i++) {
    const c = await demo.json('POST', '/api/crm/contacts', {
      firstName: `P${i}`,
      lastName: 'Ab',
      email: `p${i}@ab.test`,
    });
    contactIds.push(c.id);
  }
}, 120_000);
afterAll(async () => {
  await filo?.close();
});

describe('choosing the winner', () => {
  it('ranks by the metric’s rate, then the other metric, then the key', () => {
    expect(
      pickWinner('clicks', [
        { key: 'A', sent: 100, clicks: 10, replies: 0 },
        { key: 'B', sent: 50, clicks: 6, replies: 0 },
      ]),
    ).toEqual({ winner: 'B', rule: 'metric' });
    expect(
      pickWinner('clicks', [
        { key: 'A', sent: 10, clicks: 1, replies: 0 },
        { key: 'B', sent: 10, clicks: 1, replies: 2 },
      ]),
    ).toEqual({ winner: 'B', rule: 'other_metric' });
    expect(
      pickWinner('replies', [
        { key: 'B', sent: 10, clicks: 0, replies: 0 },
        { key: 'A', sent: 10, clicks: 0, replies: 0 },
      ]),
    ).toEqual({ winner: 'A', rule: 'key' });
  });
});

describe('the A/B winner job', () => {
  it('waits for the wait, then picks people’s clicks over a scanner’s and releases exactly the held rows', async () => {
    const ab = await testCampaign('Spring', 6);
    const other = await testCampaign('Other', 2);
    // Variant A's link is followed by a scanner twice; one person clicks in B (a page shows the outside address).
    expect((await click(ab.sends.A![0]!, SCANNER)).status).toBe(200);
    expect((await click(ab.sends.A![1]!, SCANNER)).status).toBe(200);
    expect((await click(ab.sends.B![0]!, BROWSER)).status).toBe(200);
    // Not before the wait is over.
    const early = new Date(ab.startedAt.getTime() + 59 * MINUTE);
    expect(await filo.services.ab.decideDue(ownerDb(), early)).toEqual([]);
    expect(await filo.services.ab.decide(tenantId, ab.id, early)).toBeNull();
    const decided = await filo.services.ab.decide(tenantId, ab.id, new Date(ab.startedAt.getTime() + 61 * MINUTE));
    expect(decided).toBe('B');
    const [campaign] = (await sql(`select winner_variant, winner_at, winner_reason from campaigns where id = ?`, [
      ab.id,
    ])) as [{ winner_variant: string; winner_at: Date; winner_reason: Record<string, unknown> }];
    expect(campaign.winner_variant).toBe('B');
    expect(campaign.winner_at).not.toBeNull();
    expect(campaign.winner_reason).toMatchObject({
      metric: 'clicks',
      rule: 'metric',
      variants: [
        { key: 'A', sent: 2, clicks: 0, replies: 0, rate: 0 },
        { key: 'B', sent: 2, clicks: 1, replies: 0, rate: 0.5 },
      ],
    });
    // The engine's counters moved with the rows, and its dispatch job was queued in the same transaction.
    const stats = (await sql(`select variant, recipients from delivery_stats where source_id = ? order by variant`, [
      ab.id,
    ])) as { variant: string; recipients: number }[];
    expect(stats).toEqual([
      { variant: '', recipients: 0 },
      { variant: 'A', recipients: 2 },
      { variant: 'B', recipients: 8 },
    ]);
    expect(await dispatchJobs(ab.id)).toBeGreaterThan(0);
    expect(await dispatchJobs(other.id)).toBe(0);
    // Exactly the held rows moved (the dispatch may already be working on them), the other campaign's wait on.
    const ids = [...ab.sends.held!, ...other.sends.held!];
    const held = (await sql(
      `select id, variant, next_attempt_at = 'infinity' as waiting from bulk_sends
        where id in (${ids.map(() => '?').join(', ')})`,
      ids,
    )) as { id: string; variant: string | null; waiting: boolean }[];
    const moved = held.filter((r) => ab.sends.held!.includes(r.id));
    expect(moved.map((r) => [r.variant, r.waiting])).toEqual(Array(6).fill(['B', false]));
    const still = held.filter((r) => other.sends.held!.includes(r.id));
    expect(still.map((r) => [r.variant, r.waiting])).toEqual(Array(2).fill([null, true]));
    // The report says who won and why.
    const report = await demo.json('GET', `/api/newsletters/campaigns/${ab.id}/report`);
    expect(report.ab).toMatchObject({ metric: 'clicks', testPercent: 40, waitMinutes: 60, winner: 'B' });
    expect(report.ab.reason.variants).toHaveLength(2);
    expect(report.variants.map((v: { key: string; held: boolean }) => [v.key, v.held])).toEqual([
      ['A', false],
      ['B', false],
      ['', true],
    ]);
    expect(report.variants[1]).toMatchObject({ key: 'B', subject: 'Hello B', sent: 2, clicked: 1 });
  });

  it('decides once when two nodes run the job at the same time', async () => {
    const ab = await testCampaign('Twice', 4, 'replies');
    await sql(`update bulk_sends set replied_at = now() where id = ?`, [ab.sends.A![1]]);
    await inTenant(filo.orm, systemActor(tenantId), ({ em }) =>
      bumpStats(em, { tenantId, source: 'campaign', sourceId: ab.id, variant: 'A' }, { replied: 1 }),
    );
    const later = new Date(Date.now() + 90 * MINUTE);
    const runs = await Promise.all([
      filo.services.ab.decideDue(ownerDb(), later),
      filo.services.ab.decideDue(ownerDb(), later),
    ]);
    expect(runs.flat().filter((id) => id === ab.id)).toHaveLength(1);
    const rows = (await sql(
      `select variant, count(*)::int as n from bulk_sends where source_id = ? group by variant order by variant`,
      [ab.id],
    )) as { variant: string; n: number }[];
    expect(rows).toEqual([
      { variant: 'A', n: 6 },
      { variant: 'B', n: 2 },
    ]);
    const [campaign] = (await sql(`select winner_variant, winner_reason from campaigns where id = ?`, [ab.id])) as [
      { winner_variant: string; winner_reason: { rule: string; variants: { key: string; replies: number }[] } },
    ];
    expect(campaign.winner_variant).toBe('A');
    expect(campaign.winner_reason.rule).toBe('metric');
    expect(campaign.winner_reason.variants.map((v) => [v.key, v.replies])).toEqual([
      ['A', 1],
      ['B', 0],
    ]);
    // A later run finds nothing left to decide.
    expect(await filo.services.ab.decideDue(ownerDb(), later)).not.toContain(ab.id);
  });
});
