import { randomUUID, generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { authenticate as mailauth } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BulkHandler, BulkScope, ComposedMail } from '../server/delivery/bulk/engine.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

// The shared bulk engine against a real SMTP sink, with a tiny handler of its own (source `bulk_message`): no
// newsletter code is involved.

let sink: SmtpSink;
let filo: TestFilo;
let db: pg.Client;
let demo: ApiClient;
let tenantId: string;

/** The test source's scopes, composes and callbacks, by source id. */
const scopes = new Map<string, BulkScope>();
const composeCalls = new Map<string, number>();
const gates = new Map<string, Promise<void>>();
const sentRows = new Map<string, string[]>();
const finished = new Map<string, number>();
/** Sources whose onSent throws (after writing a row of its own, which must be undone). */
const failingOnSent = new Set<string>();

const handler: BulkHandler = {
  source: 'bulk_message',
  async scope(_em, sourceId) {
    return scopes.get(sourceId) ?? null;
  },
  async compose(_tenantId, sourceId, rows) {
    composeCalls.set(sourceId, (composeCalls.get(sourceId) ?? 0) + 1);
    await gates.get(sourceId);
    const out = new Map<string, ComposedMail>();
    for (const r of rows)
      out.set(r.id, {
        from: { name: 'Filo News', address: 'news@demo.inbound.localhost' },
        subject: `Hello ${r.address} (${r.variant ?? '-'})`,
        html: `<p>Hello ${r.address}</p>`,
        text: `Hello ${r.address}`,
        headers: { 'List-Unsubscribe': '<https://evil.example/u>', 'X-Campaign': sourceId },
      });
    return out;
  },
  async onSent(uow, sourceId, rows) {
    if (failingOnSent.has(sourceId)) {
      await uow.em.execute(`update bulk_sends set last_response = 'written by onSent' where source_id = ?`, [sourceId]);
      throw new Error('onSent broke');
    }
    uow.afterCommit(() => sentRows.set(sourceId, [...(sentRows.get(sourceId) ?? []), ...rows.map((r) => r.id)]));
  },
  async onFinished(uow, sourceId) {
    // Seen once committed: the test then reads the rows that transaction wrote.
    uow.afterCommit(() => finished.set(sourceId, (finished.get(sourceId) ?? 0) + 1));
  },
};

const active = (over: Partial<BulkScope> = {}): BulkScope => ({
  state: 'active',
  listIds: [],
  requireConfirmed: false,
  mailboxId: null,
  trackOpens: false,
  trackClicks: false,
  ...over,
});

const addresses = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}@rcpt.test`);
const select = (list: string[]) => ({
  sql: `select null::uuid as contact_id, a as address from jsonb_array_elements_text(?::jsonb) a`,
  params: [JSON.stringify(list)],
});

/** Enqueues (optionally split) and starts a source in one transaction. */
async function launch(
  sourceId: string,
  list: string[],
  opts: { split?: Parameters<TestFilo['services']['bulk']['enqueue']>[1]['split']; start?: boolean } = {},
) {
  return inTenant(filo.orm, systemActor(tenantId), async (uow) => {
    const r = await filo.services.bulk.enqueue(uow, {
      source: 'bulk_message',
      sourceId,
      select: select(list),
      ...(opts.split ? { split: opts.split } : {}),
    });
    if (opts.start !== false) await filo.services.bulk.start(uow, 'bulk_message', sourceId);
    return r;
  });
}

const statuses = async (sourceId: string) =>
  Object.fromEntries(
    (
      await db.query<{ status: string; n: number }>(
        `select status, count(*)::int as n from bulk_sends where source_id = $1 group by 1`,
        [sourceId],
      )
    ).rows.map((r) => [r.status, r.n]),
  ) as Record<string, number>;

const stats = async (sourceId: string) =>
  (
    await db.query(
      `select variant, recipients, sent, deferred, bounced, failed, suppressed, cancelled
         from delivery_stats where source_id = $1 order by variant`,
      [sourceId],
    )
  ).rows as Record<string, number | string>[];

const sunk = (prefix: string) => sink.messages.filter((m) => m.to[0]?.toLowerCase().startsWith(prefix));

beforeAll(async () => {
  sink = await startSmtpSink({
    rules: [
      { match: /^slow/, code: 451, message: '4.7.1 try again later', times: 2 },
      { match: /^gone/, code: 550, message: '5.1.1 no such user here' },
      { match: /^never/, code: 451, message: '4.3.0 mailbox busy' },
    ],
  });
  filo = await startTestFilo({
    SMTP_RELAY_URL: sink.url,
    SMTP_ALLOWED_HOSTS: '127.0.0.1',
    BULK_RETRY_DELAY: '1',
    BULK_MAX_ATTEMPTS: '3',
    BULK_RATE_PER_SECOND: '1000',
    BULK_CONNECTIONS: '4',
  });
  filo.services.bulk.register(handler);
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  tenantId = (await db.query(`select id from tenants where slug = 'demo'`)).rows[0].id;
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
});
afterAll(async () => {
  await db?.end();
  await filo?.close();
  await sink?.close();
});

describe('the bulk engine', { timeout: 60_000 }, () => {
  it('sends each row once through the mailbox, with one List-Unsubscribe, its Post header, DKIM over both and a VERP return path; a suppressed address never reaches the sink', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'News', localPart: 'news' });
    const dto = await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
      smtp: { host: '127.0.0.1', port: sink.port, secure: false },
      dkim: { selector: 'bulk', privateKey },
    });
    const sourceId = randomUUID();
    scopes.set(sourceId, active({ mailboxId: box.id }));
    const list = addresses('first', 40);
    // Unsubscribed before the send: refused in the claim's transaction.
    await inTenant(filo.orm, systemActor(tenantId), (uow) =>
      filo.services.consent.set(uow, {
        channel: 'email',
        address: 'first7@rcpt.test',
        listId: null,
        status: 'unsubscribed',
        source: 'manual',
      }),
    );
    const r = await launch(sourceId, [...list, 'FIRST3@rcpt.test']);
    expect(r).toEqual({ recipients: 40, byVariant: { '': 40 } });
    await expect.poll(() => finished.get(sourceId), { timeout: 30_000 }).toBe(1);
    expect(await statuses(sourceId)).toEqual({ sent: 39, suppressed: 1 });
    const got = sunk('first');
    expect(got).toHaveLength(39);
    expect(got.some((m) => m.to[0] === 'first7@rcpt.test')).toBe(false);
    expect(new Set(got.map((m) => m.to[0])).size).toBe(39);
    const rows = (
      await db.query(`select id, address, message_id, transport, attempts from bulk_sends where source_id = $1`, [
        sourceId,
      ])
    ).rows as { id: string; address: string; message_id: string; transport: string | null; attempts: number }[];
    expect(sentRows.get(sourceId)?.length).toBe(39);
    for (const m of got) {
      const row = rows.find((x) => x.address.toLowerCase() === m.to[0]!.toLowerCase())!;
      expect(m.messageId).toBe(row.message_id);
      expect(row.transport).toBe('mailbox');
      // Exactly one List-Unsubscribe (the source's own is dropped), one-click, both in the DKIM signature.
      const head = m.raw.split(/\r?\n\r?\n/, 1)[0]!;
      expect(head.match(/^List-Unsubscribe:/gim)).toHaveLength(1);
      expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
      expect(head).toMatch(/^Precedence: bulk$/m);
      expect(head).toMatch(/^X-Campaign: /m);
      const unsub =
        /^List-Unsubscribe: <(http[^>]+)\/u\/([a-z2-7]{47})>, <mailto:u\+([a-z2-7]{47})@demo\.inbound\.localhost>/m.exec(
          head.replace(/\r?\n[ \t]+/g, ' '),
        );
      expect(unsub).not.toBeNull();
      expect(filo.services.bulkTokens.verify(unsub![2]!, 'unsubscribe')?.sendId).toBe(row.id);
      // The envelope sender is the row's VERP address.
      const verp = /^b\+([a-z2-7]{47})@demo\.inbound\.localhost$/.exec(m.from);
      expect(verp).not.toBeNull();
      expect(filo.services.bulkTokens.verify(verp![1]!, 'bounce')?.sendId).toBe(row.id);
    }
    const sample = got[0]!;
    const h = /^DKIM-Signature:[\s\S]*?\bh=([^;]+);/im.exec(sample.raw)![1]!.replace(/\s+/g, '').toLowerCase();
    expect(h.split(':')).toEqual(expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post', 'message-id']));
    // The mailbox's public key, published through mailauth's injectable resolver.
    const resolver = async (name: string, rrtype: string) => {
      if (rrtype === 'TXT' && name === dto.dkim.dnsName) return [[dto.dkim.dnsRecord]];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    const verdict = await mailauth(sample.raw, {
      ip: '127.0.0.1',
      helo: 'localhost',
      sender: sample.from,
      disableBimi: true,
      resolver,
    } as Parameters<typeof mailauth>[1]);
    expect(verdict.dkim?.results?.[0]?.status.result).toBe('pass');
    // Either List header changed breaks the signature: both are really covered.
    const unsubTampered = sample.raw.replace(
      /(\/u\/)([a-z2-7])/,
      (_, a: string, c: string) => a + (c === 'a' ? 'b' : 'a'),
    );
    const postTampered = sample.raw.replace('List-Unsubscribe=One-Click', 'List-Unsubscribe=One-Clack');
    for (const tampered of [unsubTampered, postTampered]) {
      expect(tampered).not.toBe(sample.raw);
      const broken = await mailauth(tampered, {
        ip: '127.0.0.1',
        helo: 'localhost',
        sender: sample.from,
        disableBimi: true,
        resolver,
      } as Parameters<typeof mailauth>[1]);
      expect(broken.dkim?.results?.[0]?.status.result).toBe('fail');
    }
    expect(await stats(sourceId)).toEqual([
      { variant: '', recipients: 40, sent: 39, deferred: 0, bounced: 0, failed: 0, suppressed: 1, cancelled: 0 },
    ]);
  });

  it('retries a 4xx until delivered, never counting it before, and fails it after the attempts allowed; a 5xx bounces and suppresses the address', async () => {
    const sourceId = randomUUID();
    scopes.set(sourceId, active());
    await launch(sourceId, ['slow1@rcpt.test', 'gone1@rcpt.test', 'ok1@rcpt.test', 'never1@rcpt.test']);
    // The 4xx row waits as deferred, not counted sent, before it goes.
    await expect
      .poll(
        async () => (await db.query(`select status from bulk_sends where address = 'slow1@rcpt.test'`)).rows[0]?.status,
      )
      .toBe('deferred');
    const mid = (await stats(sourceId))[0]!;
    // At most ok1 and gone1 (a 5xx is an answer, counted sent and bounced): never the deferred ones.
    expect(mid.sent).toBeLessThanOrEqual(2);
    expect(mid.deferred).toBeGreaterThanOrEqual(1);
    await expect.poll(() => finished.get(sourceId), { timeout: 30_000 }).toBe(1);
    expect(await statuses(sourceId)).toEqual({ sent: 2, bounced: 1, failed: 1 });
    // BULK_MAX_ATTEMPTS=3: the third 4xx ends it.
    expect(sink.tries.get('never1@rcpt.test')).toBe(3);
    expect(sunk('never1')).toHaveLength(0);
    const slow = (
      await db.query(`select attempts, sent_at, last_response from bulk_sends where address = 'slow1@rcpt.test'`)
    ).rows[0];
    expect(slow.attempts).toBe(3);
    expect(sink.tries.get('slow1@rcpt.test')).toBe(3);
    expect(sunk('slow1')).toHaveLength(1);
    const gone = (await db.query(`select bounced_at, last_response from bulk_sends where address = 'gone1@rcpt.test'`))
      .rows[0];
    expect(gone.bounced_at).not.toBeNull();
    expect(gone.last_response).toMatch(/5\.1\.1/);
    expect(sunk('gone1')).toHaveLength(0);
    expect(await stats(sourceId)).toEqual([
      { variant: '', recipients: 4, sent: 3, deferred: 0, bounced: 1, failed: 1, suppressed: 0, cancelled: 0 },
    ]);
    // Bounced for the whole channel: the next source refuses it in its claim.
    const refusal = await inTenant(filo.orm, systemActor(tenantId), (uow) =>
      filo.services.consent.refusal(uow.em, 'email', 'gone1@rcpt.test'),
    );
    expect(refusal?.status).toBe('bounced');
    const next = randomUUID();
    scopes.set(next, active());
    await launch(next, ['gone1@rcpt.test']);
    await expect.poll(() => finished.get(next), { timeout: 20_000 }).toBe(1);
    expect(await statuses(next)).toEqual({ suppressed: 1 });
    expect(sink.tries.get('gone1@rcpt.test')).toBe(1);
  });

  it('stops claiming when paused and finishes when resumed; cancel cancels what is left', async () => {
    const sourceId = randomUUID();
    scopes.set(sourceId, active());
    let open!: () => void;
    gates.set(sourceId, new Promise<void>((resolve) => (open = resolve)));
    // Batches of 200 (BULK_RATE_PER_SECOND / 2), two out at a time: both are composing when the pause comes.
    await launch(sourceId, addresses('pause', 600));
    await expect.poll(() => composeCalls.get(sourceId), { timeout: 20_000 }).toBe(2);
    scopes.set(sourceId, active({ state: 'paused' }));
    open();
    await expect.poll(async () => (await statuses(sourceId)).sent, { timeout: 20_000 }).toBe(400);
    await expect
      .poll(
        async () =>
          (
            await db.query(
              `select count(*)::int as n from pgboss.job where name = 'bulk.dispatch' and data->>'sourceId' = $1 and state not in ('completed')`,
              [sourceId],
            )
          ).rows[0].n,
      )
      .toBe(0);
    expect(await statuses(sourceId)).toEqual({ sent: 400, pending: 200 });
    expect(sunk('pause')).toHaveLength(400);
    expect(finished.get(sourceId)).toBeUndefined();
    // Resume: start again.
    scopes.set(sourceId, active());
    await inTenant(filo.orm, systemActor(tenantId), (uow) => filo.services.bulk.start(uow, 'bulk_message', sourceId));
    await expect.poll(() => finished.get(sourceId), { timeout: 30_000 }).toBe(1);
    expect(sunk('pause')).toHaveLength(600);
    expect(new Set(sunk('pause').map((m) => m.messageId)).size).toBe(600);

    // Cancel: paused with rows left, then cancelled by the API; the source finishes once.
    const other = randomUUID();
    scopes.set(other, active({ state: 'paused' }));
    await launch(other, addresses('cancel', 25));
    const n = await inTenant(filo.orm, systemActor(tenantId), (uow) =>
      filo.services.bulk.cancel(uow, 'bulk_message', other),
    );
    expect(n).toBe(25);
    expect(await statuses(other)).toEqual({ cancelled: 25 });
    expect(finished.get(other)).toBe(1);
    expect((await stats(other))[0]).toMatchObject({ recipients: 25, cancelled: 25, sent: 0 });
    // A source gone (scope null) or cancelled in its own state: its rows are cancelled at the next claim.
    const gone = randomUUID();
    await launch(gone, addresses('vanished', 5));
    await expect.poll(() => finished.get(gone), { timeout: 20_000 }).toBe(1);
    expect(await statuses(gone)).toEqual({ cancelled: 5 });
    expect(sunk('vanished')).toHaveLength(0);
  });

  it('splits exactly (1000 at 20 %, 50/50 -> 100/100/800 held) and release sends the held to the winner', async () => {
    const sourceId = randomUUID();
    scopes.set(sourceId, active());
    const r = await launch(sourceId, addresses('split', 1000), {
      split: {
        variants: [
          { key: 'A', weight: 1 },
          { key: 'B', weight: 1 },
        ],
        testPercent: 20,
      },
    });
    expect(r).toEqual({ recipients: 1000, byVariant: { A: 100, B: 100, '': 800 } });
    await expect.poll(async () => (await statuses(sourceId)).sent, { timeout: 30_000 }).toBe(200);
    const held = await db.query(
      `select count(*)::int as n from bulk_sends where source_id = $1 and status = 'pending' and variant is null and next_attempt_at = 'infinity'`,
      [sourceId],
    );
    expect(held.rows[0].n).toBe(800);
    expect(finished.get(sourceId)).toBeUndefined();
    const released = await inTenant(filo.orm, systemActor(tenantId), (uow) =>
      filo.services.bulk.release(uow, 'bulk_message', sourceId, 'B'),
    );
    expect(released).toBe(800);
    await expect.poll(() => finished.get(sourceId), { timeout: 40_000 }).toBe(1);
    const variants = await db.query(
      `select variant, count(*)::int as n from bulk_sends where source_id = $1 and status = 'sent' group by 1 order by 1`,
      [sourceId],
    );
    expect(variants.rows).toEqual([
      { variant: 'A', n: 100 },
      { variant: 'B', n: 900 },
    ]);
    const got = sunk('split');
    expect(got).toHaveLength(1000);
    expect(new Set(got.map((m) => m.to[0])).size).toBe(1000);
    expect((await stats(sourceId)).map((s) => [s.variant, s.recipients, s.sent])).toEqual([
      ['', 0, 0],
      ['A', 100, 100],
      ['B', 900, 900],
    ]);
  });

  it('keeps the outcomes when a source callback throws: its work is undone, nothing is sent again', async () => {
    const sourceId = randomUUID();
    scopes.set(sourceId, active());
    failingOnSent.add(sourceId);
    await launch(sourceId, addresses('callback', 30));
    await expect.poll(() => finished.get(sourceId), { timeout: 30_000 }).toBe(1);
    expect(await statuses(sourceId)).toEqual({ sent: 30 });
    expect(sunk('callback')).toHaveLength(30);
    const written = await db.query(
      `select count(*)::int as n from bulk_sends where source_id = $1 and last_response = 'written by onSent'`,
      [sourceId],
    );
    expect(written.rows[0].n).toBe(0);
  });

  it(
    'two Filo nodes on one database sending the same source never send a row twice',
    { timeout: 150_000 },
    async () => {
      const second = await startTestFilo({
        DATABASE_URL: filo.databaseUrl,
        SMTP_RELAY_URL: sink.url,
        BULK_RETRY_DELAY: '1',
        BULK_RATE_PER_SECOND: '1000',
        BULK_CONNECTIONS: '4',
      });
      try {
        second.services.bulk.register(handler);
        const sourceId = randomUUID();
        scopes.set(sourceId, active());
        await launch(sourceId, addresses('twice', 1500));
        // More runs of the same source on both nodes at once.
        for (const node of [filo, second, second])
          await inTenant(node.orm, systemActor(tenantId), (uow) =>
            node.services.bulk.start(uow, 'bulk_message', sourceId),
          );
        await expect.poll(() => finished.get(sourceId), { timeout: 50_000 }).toBe(1);
        const got = sunk('twice');
        // One distinct message per recipient, and no copy of any (a failure says which: a row sent twice or a resend).
        const copies = new Map<string, number>();
        for (const m of got)
          copies.set(`${m.to[0]} ${m.messageId}`, (copies.get(`${m.to[0]} ${m.messageId}`) ?? 0) + 1);
        expect(copies.size).toBe(1500);
        expect([...copies].filter(([, n]) => n > 1)).toEqual([]);
        expect(got).toHaveLength(1500);
        expect(await statuses(sourceId)).toEqual({ sent: 1500 });
        expect((await stats(sourceId))[0]).toMatchObject({ recipients: 1500, sent: 1500 });
      } finally {
        await second.close();
      }
    },
  );
});
