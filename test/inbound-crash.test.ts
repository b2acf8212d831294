import pg from 'pg';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createTestDatabase, login, tempDir } from './support/harness.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from './support/process.ts';

// kill -9 while 50 sessions deliver 1,000 messages: every message that got a 250 must survive the crash and be
// processed exactly once after the restart.
const TOTAL = Number(process.env.CRASH_TOTAL ?? 1000);
const SESSIONS = 50;

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const data = tempDir('filo-crash-');
let node: FiloProcess | undefined;
const env = () => ({
  DATABASE_URL: db.url,
  DATA_DIR: data.dir,
  SECRET_KEY: 'c'.repeat(64),
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  SMTP_MAX_CONNECTIONS_PER_IP: '1000',
  SMTP_MAX_MESSAGES_PER_IP_PER_MINUTE: '1000000',
});

beforeAll(async () => {
  db = await createTestDatabase();
  node = await spawnFilo(env());
  await waitHealthy(node);
});
afterAll(async () => {
  if (node?.child.exitCode === null) {
    node.child.kill('SIGKILL');
    await node.exited(10_000).catch(() => {});
  }
  await db?.drop();
  data.remove();
});

describe('a crash during an SMTP load', () => {
  it('loses no accepted message and processes each exactly once after the restart', async () => {
    const owner = apiClient(node!.baseUrl, await login(node!.baseUrl));
    const box = await owner.json('POST', '/api/inbox/mailboxes', { name: 'Load', localPart: 'load' });
    const smtpPort = node!.smtpPort;
    const accepted = new Set<string>();
    let refused = 0;
    let next = 0;
    let killed = false;
    const killAt = TOTAL / 4;

    const session = async () => {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: smtpPort,
        pool: true,
        maxConnections: 1,
        maxMessages: Infinity,
        socketTimeout: 10_000,
      });
      try {
        while (next < TOTAL) {
          const n = next++;
          const messageId = `crash-${n}@load.test`;
          try {
            const info = await transport.sendMail({
              from: `sender${n % 7}@load.test`,
              to: box.inboundAddress,
              subject: `Load ${n}`,
              text: `message ${n}\n`.repeat(50),
              messageId: `<${messageId}>`,
            });
            if (info.response.startsWith('250')) accepted.add(messageId);
          } catch {
            refused++;
            if (killed) return;
          }
          if (!killed && accepted.size >= killAt) {
            killed = true;
            node!.child.kill('SIGKILL');
          }
        }
      } finally {
        transport.close();
      }
    };
    await Promise.all(Array.from({ length: SESSIONS }, session));
    await node!.exited(10_000);
    expect(killed).toBe(true);
    expect(accepted.size).toBeGreaterThanOrEqual(killAt);

    node = await spawnFilo({ ...env(), SMTP_PORT: String(smtpPort) });
    await waitHealthy(node);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const diagnose = async () => {
        const { rows } = await client.query(
          `select status, count(*)::int as n, min(error) as error from inbound_messages group by status`,
        );
        const jobs = await client.query(
          `select state, count(*)::int as n, max(retry_count) as retries from pgboss.job where name = 'inbound.process' group by state`,
        );
        return `${JSON.stringify(rows)}\n${JSON.stringify(jobs.rows)}\n${node!.output().slice(-3000)}`;
      };
      await expect
        .poll(
          async () =>
            (await client.query(`select count(*)::int as n from inbound_messages where status <> 'processed'`)).rows[0]
              .n,
          { timeout: 120_000, interval: 250 },
        )
        .toBe(0)
        .catch(async (err: Error) => {
          throw new Error(`${err.message}\n${await diagnose()}`);
        });
      const { rows: messages } = await client.query<{ id: string; n: number }>(
        `select message_id_header as id, count(*)::int as n from messages group by 1`,
      );
      const perMessage = new Map(messages.map((r) => [r.id, r.n]));
      const missing = [...accepted].filter((id) => !perMessage.has(id));
      expect(missing).toEqual([]);
      expect(messages.filter((r) => r.n !== 1)).toEqual([]);
      const { rows: activities } = await client.query<{ id: string; n: number }>(
        `select metadata->>'messageId' as id, count(*)::int as n from activities
          where activity_type = 'email.received' group by 1`,
      );
      expect(activities.filter((r) => r.n !== 1)).toEqual([]);
      for (const id of accepted) expect(activities.some((r) => r.id === id)).toBe(true);
      // Every row is one message: none processed twice into two messages.
      const { rows: inbound } = await client.query(
        `select count(*)::int as rows, count(distinct email_message_id)::int as messages from inbound_messages`,
      );
      expect(inbound[0].rows).toBe(inbound[0].messages);
      console.warn(`crash test: ${accepted.size} accepted before kill -9, ${refused} refused or cut`);
    } finally {
      await client.end();
    }
  }, 300_000);
});
