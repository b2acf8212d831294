import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, tempDir } from './support/harness.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from './support/process.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

// kill -9 a node halfway through a bulk send of 2,000 recipients, restart it: every recipient gets exactly one
// distinct message (its row's Message-ID). A message whose 250 came just before the kill and whose row was not yet
// marked goes out again with the SAME Message-ID (SMTP cannot avoid that): such copies are counted and bounded by
// the rows that were `sending` when the process died.
const TOTAL = Number(process.env.CRASH_TOTAL ?? 2000);

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sink: SmtpSink;
const data = tempDir('filo-bulk-crash-');
let node: FiloProcess | undefined;
const env = () => ({
  DATABASE_URL: db.url,
  DATA_DIR: data.dir,
  SECRET_KEY: 'b'.repeat(64),
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  SMTP_RELAY_URL: sink.url,
  BULK_RATE_PER_SECOND: '400',
  BULK_CONNECTIONS: '4',
  BULK_LEASE_SECONDS: '3',
});

beforeAll(async () => {
  db = await createTestDatabase();
  sink = await startSmtpSink({ keepRaw: false });
});
afterAll(async () => {
  if (node?.child.exitCode === null) {
    node.child.kill('SIGKILL');
    await node.exited(10_000).catch(() => {});
  }
  await sink?.close();
  await db?.drop();
  data.remove();
});

describe('a crash during a bulk send', () => {
  it('delivers exactly one distinct message to every recipient after kill -9 and a restart', async () => {
    const sourceId = randomUUID();
    node = await spawnFilo({ ...env(), BULK_TEST_ENQUEUE: `${sourceId}:${TOTAL}` }, 'test/support/bulk-node.ts');
    await waitHealthy(node);
    await expect
      .poll(() => sink.messages.length, { timeout: 120_000, interval: 20 })
      .toBeGreaterThanOrEqual(TOTAL / 2)
      .catch((err: Error) => {
        throw new Error(`${err.message}\n${node!.output().slice(-3000)}`);
      });
    node.child.kill('SIGKILL');
    await node.exited(10_000);
    const atKill = sink.messages.length;

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // Nothing changes rows while no node runs: these are the rows the dead process held.
      const sending = (
        await client.query(`select count(*)::int as n from bulk_sends where source_id = $1 and status = 'sending'`, [
          sourceId,
        ])
      ).rows[0].n as number;
      expect(atKill).toBeLessThan(TOTAL);

      node = await spawnFilo(env(), 'test/support/bulk-node.ts');
      await waitHealthy(node);
      await expect
        .poll(
          async () =>
            (
              await client.query(
                `select count(*)::int as n from bulk_sends where source_id = $1 and status not in ('sent')`,
                [sourceId],
              )
            ).rows[0].n,
          { timeout: 120_000, interval: 250 },
        )
        .toBe(0)
        .catch((err: Error) => {
          throw new Error(`${err.message}\n${node!.output().slice(-3000)}`);
        });

      const { rows } = await client.query<{ address: string; message_id: string }>(
        `select address, message_id from bulk_sends where source_id = $1`,
        [sourceId],
      );
      expect(rows).toHaveLength(TOTAL);
      const byAddress = new Map<string, Set<string>>();
      for (const m of sink.messages) {
        const set = byAddress.get(m.to[0]!) ?? new Set<string>();
        set.add(m.messageId!);
        byAddress.set(m.to[0]!, set);
      }
      // None lost, none with two different messages, each the row's own Message-ID.
      for (const r of rows) expect([...(byAddress.get(r.address) ?? [])]).toEqual([r.message_id]);
      expect(byAddress.size).toBe(TOTAL);
      const copies = sink.messages.length - TOTAL;
      expect(copies).toBeLessThanOrEqual(sending);
      const stats = (
        await client.query(`select recipients, sent, deferred from delivery_stats where source_id = $1`, [sourceId])
      ).rows[0];
      expect(stats).toEqual({ recipients: TOTAL, sent: TOTAL, deferred: 0 });
      console.warn(
        `bulk crash test: ${atKill} at the sink at kill -9, ${sending} rows sending then, ${copies} repeated copies (same Message-ID)`,
      );
    } finally {
      await client.end();
    }
  }, 300_000);
});
