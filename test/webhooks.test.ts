import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { EventFeed, type FeedConsumer } from '../server/timeline/feed.ts';

let filo: TestFilo;
let demo: ApiClient;
let tenantId: string;

/** SQL as the schema owner, across workspaces. */
const asOwner = async <T = Record<string, unknown>>(query: string, values: unknown[] = []) =>
  (await filo.jobs!.boss.getDb().executeSql(query, values)).rows as T[];

const newCompany = (name: string) => demo.json<{ id: string }>('POST', '/api/crm/companies', { name, type: 'client' });

beforeAll(async () => {
  // A sweep far away: what this process writes must arrive through the wake-up, not the sweep.
  filo = await startTestFilo({ FEED_SWEEP_MS: '600000' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  tenantId = (await asOwner<{ id: string }>(`select id from tenants where slug = 'demo'`))[0]!.id;
  // A consumer's effects, without a key: a duplicate would show as a second row.
  await asOwner(
    `create table feed_test_effects (tenant_id uuid not null, consumer text not null, seq bigint not null)`,
  );
  await asOwner(`grant select, insert on feed_test_effects to public`);
}, 60_000);

afterAll(async () => {
  await filo?.close();
});

/** A consumer that writes one row per activity in the feed's transaction, and can crash once after writing. */
function recorder(name: string, crashAt?: () => number | undefined): FeedConsumer & { crashed: number } {
  const consumer = {
    name,
    batchSize: 5,
    crashed: 0,
    async handle(uow: Parameters<FeedConsumer['handle']>[0], activities: { seq: number }[]) {
      for (const a of activities)
        await uow.em.execute(`insert into feed_test_effects (tenant_id, consumer, seq) values (?, ?, ?)`, [
          tenantId,
          name,
          a.seq,
        ]);
      const at = crashAt?.();
      if (at !== undefined && !consumer.crashed && activities.some((a) => a.seq === at)) {
        consumer.crashed++;
        throw new Error('crash after writing, before commit');
      }
    },
  };
  return consumer;
}

const effects = (consumer: string) =>
  asOwner<{ seq: string }>(`select seq from feed_test_effects where consumer = $1 order by seq`, [consumer]).then(
    (rows) => rows.map((r) => Number(r.seq)),
  );
const seqsAfter = (from: number) =>
  asOwner<{ seq: string }>(`select seq from activities where tenant_id = $1 and seq > $2 order by seq`, [
    tenantId,
    from,
  ]).then((rows) => rows.map((r) => Number(r.seq)));
const startCursor = (consumer: string) =>
  inTenant(filo.orm, systemActor(tenantId), (uow) => filo.services.feed.start(uow, consumer));

describe('the event feed', () => {
  it('reads only after start, wakes on a commit in this process, and a crash mid-batch re-reads without skipping', async () => {
    await newCompany('Before the feed');
    const crash: { seq?: number } = {};
    const consumer = recorder('test-wake', () => crash.seq);
    filo.services.feed.register(consumer);
    await startCursor('test-wake');
    const from = (await filo.services.feed.position(tenantId, 'test-wake'))!;
    expect(from).toBeGreaterThan(0);
    // The next company's activity is the one whose batch crashes once.
    crash.seq = from + 1;
    for (let i = 0; i < 12; i++) await newCompany(`Feed company ${i}`);
    const expected = await seqsAfter(from);
    expect(expected.length).toBeGreaterThanOrEqual(12);
    // No sweep for ten minutes: only the wake-up after each commit can have delivered these.
    await expect.poll(() => effects('test-wake'), { timeout: 20_000 }).toEqual(expected);
    expect(consumer.crashed).toBe(1);
    expect(await filo.services.feed.position(tenantId, 'test-wake')).toBe(expected.at(-1));
  });

  it('two nodes draining one workspace at once take each activity once, and a restarted worker resumes', async () => {
    const log = pino({ level: 'silent' });
    // "Node B": a second feed over the same database, with the same consumer; this process's worker is node A.
    const nodeB = new EventFeed({ orm: filo.orm, log });
    nodeB.register(recorder('test-nodes'));
    filo.services.feed.register(recorder('test-nodes'));
    await startCursor('test-nodes');
    const from = (await filo.services.feed.position(tenantId, 'test-nodes'))!;
    // Node A stops (a worker going down): what is written meanwhile waits in the activities, not in memory.
    await filo.services.feed.stop();
    for (let i = 0; i < 15; i++) await newCompany(`Nodes company ${i}`);
    expect(await filo.services.feed.position(tenantId, 'test-nodes')).toBe(from);
    const expected = await seqsAfter(from);
    // Both nodes at once, twice over: the cursor's lock lets one read at a time, and each batch commits with its cursor.
    await Promise.all([
      nodeB.drain('test-nodes', tenantId),
      filo.services.feed.drain('test-nodes', tenantId),
      nodeB.sweep(),
      filo.services.feed.sweep(),
    ]);
    await nodeB.sweep();
    expect(await effects('test-nodes')).toEqual(expected);
    // The worker starts again: it reads on from the stored cursor, nothing twice.
    filo.services.feed.run(600_000);
    await newCompany('After the restart');
    const all = await seqsAfter(from);
    await expect.poll(() => effects('test-nodes'), { timeout: 20_000 }).toEqual(all);
    expect(all.length).toBe(expected.length + 1);
  });
});
