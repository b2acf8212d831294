/**
 * Campaign delivery at size: N contacts (inserted directly, no segment) sent through Filo's bulk engine to a local
 * SMTP sink (test/support/smtp-sink.ts), against a bare nodemailer pool (10 connections) sending the same kind of
 * message to the same sink in the same run. Figures:
 *   bare      msgs/s of the pool alone (closed loop, 100 in flight);
 *   snapshot  enqueue(): the recipients frozen into bulk_sends (one insert ... select), in ms;
 *   merge     the handler's per-recipient merge (the compose callback), µs per recipient;
 *   Filo      msgs/s from start() until the source finished (every row marked), the ratio to bare, and RSS
 *             (min / max during the send; this process holds the sink and Filo) sampled every 500 ms.
 *   node bench/campaign.ts [recipients=100000]        (BENCH_SMOKE=1: 300 recipients)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../server/config.ts';
import { startFilo } from '../server/filo.ts';
import type { ComposedMail } from '../server/delivery/bulk/engine.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { startSmtpSink } from '../test/support/smtp-sink.ts';

const SMOKE = process.env.BENCH_SMOKE === '1';
const N = Number(process.argv[2] ?? (SMOKE ? 300 : 100_000));
const CONNECTIONS = 10;
const fmt = (n: number) => Math.round(n).toLocaleString('en');

/** A newsletter-sized body (about 6 KB of HTML), the same for both sides; `{{name}}` merged per recipient. */
const HTML = `<html><body><h1>Novità di dicembre, {{name}}</h1>${'<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. <a href="https://example.com/x">Leggi</a></p>'.repeat(40)}</body></html>`;
const TEXT = `Novità di dicembre, {{name}}\n${'Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n'.repeat(40)}`;

const dir = mkdtempSync(path.join(tmpdir(), 'filo-bench-campaign-'));
const sink = await startSmtpSink({ keepRaw: false });

async function bare(count: number): Promise<number> {
  const pool = nodemailer.createTransport({
    url: sink.url,
    pool: true,
    maxConnections: CONNECTIONS,
    maxMessages: 1000,
  } as never);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < count) {
        const i = next++;
        await pool.sendMail({
          from: 'news@bench.test',
          to: `bare${i}@bench.test`,
          subject: `Novità di dicembre ${i}`,
          html: HTML.replace('{{name}}', `Persona ${i}`),
          text: TEXT.replace('{{name}}', `Persona ${i}`),
          headers: {
            'List-Unsubscribe': '<https://bench.test/u/x>',
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        });
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  pool.close();
  return count / s;
}

try {
  const bareRate = await bare(N);
  console.log(
    `bare nodemailer pool (${CONNECTIONS} connections): ${fmt(N)} in ${(N / bareRate).toFixed(1)} s = ${fmt(bareRate)} msgs/s`,
  );

  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    SMTP_PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
    SECRET_KEY: 'e'.repeat(64),
    SMTP_RELAY_URL: sink.url,
    BULK_RATE_PER_SECOND: '100000',
    BULK_CONNECTIONS: String(CONNECTIONS),
  });
  const filo = await startFilo(config, pino({ level: 'warn' }));
  try {
    const db = new pg.Client({ connectionString: filo.databaseUrl });
    await db.connect();
    const tenantId = (await db.query<{ id: string }>(`select id from tenants where slug = 'demo'`)).rows[0]!.id;
    await db.query(
      `insert into contacts (id, tenant_id, first_name, last_name, email)
       select gen_random_uuid(), $1, 'Persona', i::text, 'c' || i || '@bench.test' from generate_series(1, $2::int) i`,
      [tenantId, N],
    );
    await db.end();
    const sourceId = randomUUID();
    let mergeNs = 0n;
    let merged = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    filo.services.bulk.register({
      source: 'bulk_message',
      scope: async () => ({
        state: 'active',
        listIds: [],
        requireConfirmed: false,
        mailboxId: null,
        trackOpens: false,
        trackClicks: false,
      }),
      compose: async (_tenantId, _sourceId, rows) => {
        const t = process.hrtime.bigint();
        const out = new Map<string, ComposedMail>();
        for (const r of rows) {
          const name = r.address.slice(0, r.address.indexOf('@'));
          out.set(r.id, {
            from: { name: 'Filo News', address: 'news@bench.test' },
            subject: `Novità di dicembre ${name}`,
            html: HTML.replace('{{name}}', name),
            text: TEXT.replace('{{name}}', name),
          });
        }
        mergeNs += process.hrtime.bigint() - t;
        merged += rows.length;
        return out;
      },
      onFinished: async () => {
        resolveDone();
      },
    });
    const t0 = performance.now();
    const { recipients } = await inTenant(filo.orm, systemActor(tenantId), (uow) =>
      filo.services.bulk.enqueue(uow, {
        source: 'bulk_message',
        sourceId,
        select: {
          sql: `select id as contact_id, email as address from contacts where tenant_id = ? and email is not null`,
          params: [tenantId],
        },
      }),
    );
    const snapshotMs = performance.now() - t0;
    console.log(`snapshot (enqueue) of ${fmt(recipients)} recipients: ${fmt(snapshotMs)} ms`);
    const before = sink.messages.length;
    // Sampled at the start, every 500 ms and at the end: a short send (the smoke mode's) still has its two ends.
    const rss: number[] = [];
    const sample = () => rss.push(process.memoryUsage().rss);
    sample();
    const probe = setInterval(sample, 500);
    const t1 = performance.now();
    await inTenant(filo.orm, systemActor(tenantId), (uow) => filo.services.bulk.start(uow, 'bulk_message', sourceId));
    await done;
    const s = (performance.now() - t1) / 1000;
    clearInterval(probe);
    sample();
    const got = sink.messages.length - before;
    const rate = recipients / s;
    console.log(`merge per recipient: ${(Number(mergeNs) / 1000 / Math.max(1, merged)).toFixed(1)} µs`);
    console.log(
      `Filo bulk engine: ${fmt(recipients)} in ${s.toFixed(1)} s = ${fmt(rate)} msgs/s = ${(rate / bareRate).toFixed(2)}x bare; ${fmt(got)} at the sink`,
    );
    const mb = (b: number) => fmt(b / 1048576);
    console.log(
      `RSS during the send: ${mb(Math.min(...rss))} -> ${mb(Math.max(...rss))} MB (last ${mb(rss.at(-1)!)} MB)`,
    );
  } finally {
    await filo.stop();
  }
} finally {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
}
