import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { apiClient, errorCode, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { EventFeed, type FeedConsumer } from '../server/timeline/feed.ts';

let filo: TestFilo;
let demo: ApiClient;
let tenantId: string;

/** One request the local receiver got: path, headers, raw body, and whether its signature checked out. */
interface Received {
  path: string;
  event: string;
  delivery: string;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  signed: boolean;
  status: number;
}
const received: Received[] = [];
/** Per path: the receiver's secret, and how many more requests it answers 500 (Infinity: always). */
const secrets = new Map<string, string>();
const failures = new Map<string, number>();
let receiver: http.Server;
let base = '';

function verify(secret: string | undefined, header: string | undefined, raw: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!secret || !m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${raw}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')) && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
}

/** SQL as the schema owner, across workspaces. */
const asOwner = async <T = Record<string, unknown>>(query: string, values: unknown[] = []) =>
  (await filo.jobs!.boss.getDb().executeSql(query, values)).rows as T[];

const newCompany = (name: string) => demo.json<{ id: string }>('POST', '/api/crm/companies', { name, type: 'client' });

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '';
      const left = failures.get(path) ?? 0;
      const status = left > 0 ? 500 : 200;
      if (left > 0) failures.set(path, left - 1);
      received.push({
        path,
        event: String(req.headers['filo-event']),
        delivery: String(req.headers['filo-delivery']),
        body: JSON.parse(raw),
        signed: verify(secrets.get(path), req.headers['filo-signature'] as string | undefined, raw),
        status,
      });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'thanks' : 'try later');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  // A sweep far away: what this process writes must arrive through the wake-up, not the sweep.
  filo = await startTestFilo({
    FEED_SWEEP_MS: '600000',
    // Only the receiver's port is allowed: 127.0.0.1 on any other port, and every private network, are refused.
    OUTBOUND_ALLOWED_HOSTS: `127.0.0.1:${port}`,
    WEBHOOK_RETRY_BASE_MS: '100',
    WEBHOOK_DISABLE_AFTER: '4',
  });
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
  receiver?.close();
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

const hook = (path: string, events: string[], extra: Record<string, unknown> = {}) =>
  demo
    .json<{ webhook: { id: string }; secret: string }>('POST', '/api/webhooks', {
      url: `${base}${path}`,
      events,
      ...extra,
    })
    .then((r) => {
      secrets.set(path, r.secret);
      return r;
    });
const at = (path: string) => received.filter((r) => r.path === path);

describe('outbound webhooks', () => {
  it('delivers a signed event with the activity and the record, and shows the secret only once', async () => {
    const { webhook, secret } = await hook('/signed', ['company.created']);
    expect(secret).toMatch(/^whsec_/);
    expect(JSON.stringify(await demo.json('GET', `/api/webhooks/${webhook.id}`))).not.toContain(secret);
    const company = await newCompany('Signed Srl');
    await expect.poll(() => at('/signed').length, { timeout: 20_000 }).toBe(1);
    const [got] = at('/signed');
    expect(got).toMatchObject({ event: 'company.created', signed: true, status: 200 });
    expect(got!.body).toMatchObject({
      type: 'company.created',
      tenant: { id: tenantId },
      entity: { type: 'company', id: company.id },
      record: { id: company.id, name: 'Signed Srl' },
    });
    // The receiver has answered; the sender records it just after.
    let delivery!: { id: string; status: string; responseExcerpt: string };
    await expect
      .poll(async () => {
        [delivery] = (await demo.json('GET', `/api/webhooks/${webhook.id}/deliveries`)).items;
        return delivery?.status;
      })
      .toBe('delivered');
    expect(delivery).toMatchObject({ id: got!.delivery, status: 'delivered', attempts: 1, responseStatus: 200 });
    expect(delivery.responseExcerpt).toBe('thanks');
    // A rotated secret signs from now on: a ping checked with the new one passes.
    const rotated = await demo.json('POST', `/api/webhooks/${webhook.id}/secret`, undefined, 200);
    secrets.set('/signed', rotated.secret);
    const ping = await demo.json('POST', `/api/webhooks/${webhook.id}/ping`, undefined, 200);
    expect(ping).toMatchObject({ event: 'webhook.ping', status: 'delivered', responseStatus: 200 });
    expect(at('/signed').at(-1)).toMatchObject({ event: 'webhook.ping', signed: true });
    // Resend: the same body again, signed again.
    const again = await demo.json(
      'POST',
      `/api/webhooks/${webhook.id}/deliveries/${delivery.id}/resend`,
      undefined,
      200,
    );
    expect(again).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(at('/signed').at(-1)).toMatchObject({ delivery: delivery.id, signed: true });
    expect(at('/signed').at(-1)!.body).toEqual(got!.body);
  });

  it('retries a failing receiver with backoff, and two updates of one record never overtake each other', async () => {
    const { webhook } = await hook('/ordered', ['company.updated']);
    const company = await newCompany('Ordered Srl');
    failures.set('/ordered', 3);
    await demo.json('PATCH', `/api/crm/companies/${company.id}`, { name: 'Ordered 1' });
    await demo.json('PATCH', `/api/crm/companies/${company.id}`, { name: 'Ordered 2' });
    await expect.poll(() => at('/ordered').filter((r) => r.status === 200).length, { timeout: 30_000 }).toBe(2);
    const log = at('/ordered');
    // The first update: three 500s then a 200; only then the second one, once.
    expect(log.map((r) => [r.body.data.changes.name.to, r.status])).toEqual([
      ['Ordered 1', 500],
      ['Ordered 1', 500],
      ['Ordered 1', 500],
      ['Ordered 1', 200],
      ['Ordered 2', 200],
    ]);
    expect(log.every((r) => r.signed)).toBe(true);
    expect(new Set(log.slice(0, 4).map((r) => r.delivery)).size).toBe(1);
    // The receiver answers before the sender records its answer: the log says so once it has.
    const deliveries = async () =>
      (
        (await demo.json('GET', `/api/webhooks/${webhook.id}/deliveries`)).items as {
          attempts: number;
          status: string;
        }[]
      ).map((d) => [d.attempts, d.status]);
    await expect.poll(deliveries, { timeout: 10_000 }).toEqual([
      [1, 'delivered'],
      [4, 'delivered'],
    ]);
    // Three failures then a success: the count starts over, the webhook stays on.
    expect(await demo.json('GET', `/api/webhooks/${webhook.id}`)).toMatchObject({
      active: true,
      consecutiveFailures: 0,
    });
  });

  it('refuses private and loopback targets at creation and at send, and calls once for workflows', async () => {
    for (const url of ['https://10.0.0.1/hook', 'http://localhost:1/hook', 'https://169.254.169.254/latest']) {
      const res = await demo.call('POST', '/api/webhooks', { url, events: ['company.created'] });
      expect(`${url} ${res.status} ${await errorCode(res)}`).toBe(`${url} 400 url_not_public`);
    }
    const userinfo = await demo.call('POST', '/api/webhooks', {
      url: `https://u:p@example.com/`,
      events: ['note.added'],
    });
    expect(await errorCode(userinfo)).toBe('url_invalid');
    expect((await demo.call('POST', '/api/webhooks', { url: `${base}/x`, events: ['nope'] })).status).toBe(400);
    expect((await demo.json('GET', '/api/webhooks')).items.map((w: { url: string }) => w.url)).not.toContain(
      'https://10.0.0.1/hook',
    );
    // A name public when saved that resolves to a private address when sent (DNS rebinding): refused at send.
    const targets = filo.services.webhooks.targets;
    const lookup = targets.lookup;
    let answers = 0;
    targets.lookup = async (host) =>
      host === 'rebind.example' ? [{ address: answers++ ? '10.0.0.1' : '93.184.216.34', family: 4 }] : lookup(host);
    try {
      const { webhook } = await demo.json('POST', '/api/webhooks', {
        url: 'https://rebind.example/hook',
        events: ['company.created'],
      });
      await newCompany('Rebind Srl');
      await expect
        .poll(async () => (await demo.json('GET', `/api/webhooks/${webhook.id}/deliveries`)).items[0]?.error ?? '', {
          timeout: 20_000,
        })
        .toMatch(/^url_not_public/);
      await demo.json('PATCH', `/api/webhooks/${webhook.id}`, { active: false });
    } finally {
      targets.lookup = lookup;
    }
    // The workflows' one-off call: signed, through the same guard.
    secrets.set('/once', 'whsec_once');
    const actor = systemActor(tenantId);
    const once = await filo.services.webhooks.callOnce(actor, {
      url: `${base}/once`,
      body: { hello: 'world' },
      secret: 'whsec_once',
    });
    expect(once).toMatchObject({ ok: true, status: 200 });
    expect(at('/once')).toMatchObject([{ signed: true, body: { hello: 'world' } }]);
    await expect(filo.services.webhooks.callOnce(actor, { url: 'https://10.0.0.1/', body: {} })).rejects.toMatchObject({
      status: 400,
      code: 'url_not_public',
    });
  });

  it('turns off a webhook that keeps failing and tells its owner; members cannot manage webhooks', async () => {
    failures.set('/down', Infinity);
    const { webhook } = await hook('/down', ['company.created']);
    await newCompany('Down Srl');
    await expect
      .poll(async () => (await demo.json('GET', `/api/webhooks/${webhook.id}`)).active, { timeout: 30_000 })
      .toBe(false);
    const off = await demo.json('GET', `/api/webhooks/${webhook.id}`);
    expect(off.disabledReason).toMatch(/4 failed deliveries/);
    expect(at('/down').length).toBe(4);
    const notices = (await demo.json('GET', '/api/notifications')).items;
    expect(notices.find((n: { type: string }) => n.type === 'webhook_disabled')).toMatchObject({
      data: { webhookId: webhook.id, url: `${base}/down` },
    });
    // Audit: created (and changed) by a person, never with the secret.
    const audit = await demo.json('GET', `/api/audit?target=${webhook.id}`);
    expect(audit.items.map((e: { action: string }) => e.action)).toContain('webhook.created');
    expect(JSON.stringify(audit)).not.toContain('whsec_');
    const luca = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }),
    );
    const denied = await luca.call('GET', '/api/webhooks');
    expect(denied.status).toBe(403);
    await demo.json('DELETE', `/api/webhooks/${webhook.id}`);
    expect((await demo.call('GET', `/api/webhooks/${webhook.id}`)).status).toBe(404);
  });
});
