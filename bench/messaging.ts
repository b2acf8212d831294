/**
 * Messaging at size (issue 19), against a local stand-in of Twilio's REST API (test/support/fakes/twilio.ts) driven
 * by the real SDK. Figures:
 *   inbound   a signed inbound SMS webhook -> `conversation:updated` on a watcher's socket, one at a time from
 *             new numbers (a new conversation each): p50 / p99 / max;
 *   bulk      B contacts on a segment, S of them opted out by an inbound STOP first, sent by the bulk engine at a
 *             configured rate: achieved rate over the sends' own times and its error against the configured one,
 *             duplicates (numbers the fake got twice), sends to opted-out numbers, the report.
 * Targets: webhook -> socket p50 <= 150 ms, p99 <= 500 ms; rate within 5 %; 0 duplicates; 0 sends to opted-out.
 *   node bench/messaging.ts [inbound=300] [bulk=10000] [rate=50] [stops=50]   (BENCH_SMOKE=1: 20, 200, 50, 5)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { io as connect } from 'socket.io-client';
import { loadConfig } from '../server/config.ts';
import { startFilo } from '../server/filo.ts';
import { inboundParams, postSigned, startFakeTwilio } from '../test/support/fakes/twilio.ts';

const SMOKE = process.env.BENCH_SMOKE === '1';
const INBOUND = Number(process.argv[2] ?? (SMOKE ? 20 : 300));
const BULK = Number(process.argv[3] ?? (SMOKE ? 200 : 10_000));
const RATE = Number(process.argv[4] ?? 50);
const STOPS = Number(process.argv[5] ?? (SMOKE ? 5 : 50));
const PUBLIC_URL = 'https://filo.bench';
const SMS_NUMBER = '+390212345678';
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const bulkNumber = (i: number) => `+39347${String(i).padStart(7, '0')}`;

const dir = mkdtempSync(path.join(tmpdir(), 'filo-bench-messaging-'));
const fake = await startFakeTwilio();
const config = loadConfig({
  NODE_ENV: 'test',
  PORT: '0',
  SMTP_PORT: '0',
  HOST: '127.0.0.1',
  DATA_DIR: dir,
  LOG_LEVEL: 'warn',
  SECRET_KEY: 'e'.repeat(64),
  PUBLIC_URL,
  MESSAGING_API_BASE: `twilio=${fake.url}`,
});
const filo = await startFilo(config, pino({ level: 'warn' }));
const base = `http://127.0.0.1:${filo.httpPort}`;
fake.deliverTo = base;
try {
  const signin = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ email: 'demo@filo.local', password: 'filo-demo' }),
  });
  const cookie = (signin.headers.get('set-cookie') ?? '').split(';')[0]!;
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: { cookie, origin: base, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const account = (await api('POST', '/api/messaging/accounts', {
    provider: 'twilio',
    name: 'Bench SMS',
    credentials: { accountSid: fake.accountSid, authToken: fake.authToken },
    settings: { smsNumbers: [SMS_NUMBER] },
  })) as { id: string; webhooks: Record<string, string> };
  const inbound = (from: string, body: string) =>
    postSigned(
      account.webhooks.inbound!,
      base,
      fake.authToken,
      inboundParams(fake.accountSid, { from, to: SMS_NUMBER, body }),
    );

  // ---- inbound webhook -> watcher's socket
  const socket = connect(base, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie } });
  await new Promise((resolve, reject) => {
    socket.once('session:ready', resolve);
    socket.once('connect_error', reject);
  });
  await socket.emitWithAck('inbox:watch', {});
  const seen = new Set<string>();
  let waiter: ((id: string) => void) | null = null;
  socket.on('conversation:updated', (c: { id: string; reason: string }) => {
    if (c.reason !== 'message' || seen.has(c.id)) return;
    seen.add(c.id);
    waiter?.(c.id);
  });
  const latencies: number[] = [];
  for (let i = 0; i < INBOUND; i++) {
    const arrived = new Promise<string>((resolve) => (waiter = resolve));
    const t0 = performance.now();
    const res = await inbound(`+39348${String(i).padStart(7, '0')}`, `Hello ${i}`);
    if (res.status !== 200) throw new Error(`inbound webhook answered ${res.status}`);
    await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error('no event')), 10_000))]);
    latencies.push(performance.now() - t0);
  }
  socket.close();
  latencies.sort((a, b) => a - b);
  console.log(
    `inbound webhook -> socket (${INBOUND} SMS, one at a time): p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
  );

  // ---- bulk at a configured rate, some numbers opted out by STOP first
  const db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  const tenantId = (await db.query<{ id: string }>(`select id from tenants where slug = 'demo'`)).rows[0]!.id;
  await db.query(
    `insert into contacts (id, tenant_id, first_name, last_name, mobile, tags)
     select gen_random_uuid(), $1, 'Persona', i::text, '+39347' || lpad(i::text, 7, '0'), array['bulkbench']
       from generate_series(0, $2::int - 1) i`,
    [tenantId, BULK],
  );
  const stopped = new Set<string>();
  for (let i = 0; i < STOPS; i++) {
    const n = bulkNumber(Math.floor((i * BULK) / STOPS));
    stopped.add(n);
    await inbound(n, 'STOP');
  }
  const t0 = performance.now();
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from consents where tenant_id = $1 and channel = 'sms' and status = 'unsubscribed'`,
      [tenantId],
    );
    if (rows[0]!.n >= STOPS) break;
    if (performance.now() - t0 > 60_000) throw new Error('STOP keywords not applied');
    await new Promise((r) => setTimeout(r, 100));
  }
  const segment = (await api('POST', '/api/newsletters/lists', {
    name: 'Bench bulk',
    kind: 'segment',
    filter: { match: 'all', conditions: [{ field: 'contact.tag', op: 'has', value: 'bulkbench' }] },
  })) as { id: string };
  const before = fake.sent().length;
  const draft = (await api('POST', '/api/messaging/bulks', {
    name: 'Bench',
    accountId: account.id,
    channel: 'sms',
    listIds: [segment.id],
    text: 'Offerta di dicembre per {{first_name}} {{last_name}}',
    ratePerMinute: RATE * 60,
  })) as { id: string };
  const t1 = performance.now();
  await api('POST', `/api/messaging/bulks/${draft.id}/start`);
  let bulk: { state: string; report: Record<string, number> };
  for (;;) {
    bulk = (await api('GET', `/api/messaging/bulks/${draft.id}`)) as typeof bulk;
    if (bulk.state === 'done') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const wall = (performance.now() - t1) / 1000;
  const { rows: times } = await db.query<{ t: number }>(
    `select extract(epoch from sent_at)::float8 as t from bulk_sends where source_id = $1 and sent_at is not null
      order by sent_at`,
    [draft.id],
  );
  await db.end();
  const span = times.at(-1)!.t - times[0]!.t;
  const achieved = (times.length - 1) / span;
  const out = fake
    .sent()
    .slice(before)
    .map((r) => r.params.To!);
  const counts = new Map<string, number>();
  for (const n of out) counts.set(n, (counts.get(n) ?? 0) + 1);
  const duplicates = [...counts.values()].filter((c) => c > 1).length;
  const toStopped = out.filter((n) => stopped.has(n)).length;
  console.log(
    `bulk of ${fmt(BULK)} at ${RATE}/s: ${fmt(out.length)} at the fake in ${wall.toFixed(1)} s; achieved ${achieved.toFixed(2)}/s over the sends' times (${(((achieved - RATE) / RATE) * 100).toFixed(1)} % off)`,
  );
  console.log(
    `bulk correctness: ${duplicates} duplicates, ${toStopped} sends to opted-out numbers (${STOPS} stopped), report ${JSON.stringify(bulk.report)}`,
  );
} finally {
  await filo.stop();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
}
