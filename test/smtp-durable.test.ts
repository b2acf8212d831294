import { readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboundStore } from '../mail-gateway/inbound-store.ts';
import { startSmtpGateway, type SmtpGateway } from '../mail-gateway/smtp.server.ts';
import { Spool } from '../mail-gateway/spool.ts';
import { apiClient, login, startTestFilo, type TestFilo } from './support/harness.ts';

/**
 * The gateway writes a message's row while its spool file is still being synced (Spool.stage), and commits the
 * row only once the file is durable: a committed row (and its processing job) never names a file a crash could
 * lose, and a file that cannot be made durable leaves neither a row nor a file behind. A gateway of its own on the
 * test node's database and spool, whose day-folder syncs the test holds or fails.
 */
let filo: TestFilo;
let db: pg.Client;
let gateway: SmtpGateway;
let store: InboundStore;
let to: string;
let mode: 'real' | 'hold' | 'fail' = 'real';
let held: (() => void) | undefined;

const realSync = async (dir: string) => {
  const handle = await open(dir, 'r');
  await handle.sync();
  await handle.close();
};

beforeAll(async () => {
  filo = await startTestFilo();
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  const demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  to = (
    await demo.json<{ inboundAddress: string }>('POST', '/api/inbox/mailboxes', { name: 'D', localPart: 'durable' })
  ).inboundAddress;
  const root = filo.services.spool.root;
  const spool = new Spool(root, {
    fsyncDir: async (dir) => {
      // A day folder (where message files are made): as the test says. The spool root: synced for real.
      if (path.dirname(dir) !== root || mode === 'real') return realSync(dir);
      if (mode === 'fail') throw new Error('the disk is gone');
      await new Promise<void>((resolve) => (held = resolve));
      await realSync(dir);
    },
  });
  store = new InboundStore(filo.databaseUrl, filo.jobs!.boss, 2);
  gateway = await startSmtpGateway({
    port: 0,
    host: '127.0.0.1',
    log: pino({ level: 'silent' }),
    limits: { maxSize: 1024 * 1024, maxRecipients: 10, maxConnectionsPerIp: 10, maxMessagesPerIpPerMinute: 1000 },
    store,
    spool,
    parseAddress: (address) => filo.services.mailboxes.parseInbound(address),
  });
});
afterAll(async () => {
  await gateway?.close();
  await store?.close();
  await db?.end();
  await filo?.close();
});

const send = (from: string) => {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: gateway.port, secure: false });
  return transport
    .sendMail({ from, to, subject: 'durable', text: 'hello\n'.repeat(100) })
    .then(
      (info) => ({ response: info.response, code: 250 }),
      (err: { responseCode?: number }) => ({ response: String(err), code: err.responseCode }),
    )
    .finally(() => transport.close());
};
const rows = async (from: string) =>
  (await db.query<{ spool_key: string }>(`select spool_key from inbound_messages where mail_from = $1`, [from])).rows;
/** The store's connection is inside a transaction that has written its statements and waits. */
const waitingToCommit = async () =>
  (
    await db.query(
      `select 1 from pg_stat_activity where application_name = 'filo-smtp' and state = 'idle in transaction'`,
    )
  ).rowCount;

describe('SMTP: the row is committed only once its spool file is durable', () => {
  it('writes the row beside the file sync but commits it (and answers 250) only after the sync', async () => {
    mode = 'hold';
    let answered = false;
    const sent = send('held@example.com').finally(() => (answered = true));
    // The file is made and its folder sync waits; the row's transaction has written its statements and waits too.
    await expect.poll(() => held !== undefined, { timeout: 20_000, interval: 20 }).toBe(true);
    await expect.poll(waitingToCommit, { timeout: 20_000, interval: 20 }).toBeGreaterThan(0);
    expect(await rows('held@example.com')).toEqual([]);
    expect(answered).toBe(false);

    mode = 'real';
    held!();
    const result = await sent;
    expect(result.code).toBe(250);
    const [row] = await rows('held@example.com');
    expect(row).toBeDefined();
    const file = await open(filo.services.spool.path(row!.spool_key), 'r');
    try {
      expect((await file.stat()).size).toBeGreaterThan(600);
    } finally {
      await file.close();
    }
  });

  it('answers 451 and keeps neither a row nor a file when the file cannot be made durable', async () => {
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    const folder = path.join(filo.services.spool.root, day);
    const before = new Set(readdirSync(folder));
    mode = 'fail';
    try {
      const result = await send('failed@example.com');
      expect(result.code).toBe(451);
    } finally {
      mode = 'real';
    }
    expect(await rows('failed@example.com')).toEqual([]);
    expect(readdirSync(folder).filter((f) => !before.has(f))).toEqual([]);
    // And the gateway goes on: the next message is kept.
    expect((await send('after@example.com')).code).toBe(250);
    expect(await rows('after@example.com')).toHaveLength(1);
  });
});
