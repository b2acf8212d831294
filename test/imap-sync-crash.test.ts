import { randomUUID } from 'node:crypto';
import { chownSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAP_PASSWORD, SMTP_PASSWORD } from '../server/accounts/connect.ts';
import { CHUNK } from '../server/accounts/sync/folder-sync.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { createTestDatabase, DEMO, tempDir } from './support/harness.ts';
import { startDovecot, type Dovecot } from './support/dovecot.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from './support/process.ts';

// kill -9 while an account's initial sync writes its rows and the pipeline processes them: after the restart every
// message of the mailbox is there exactly once (one row, one message, one timeline entry) and none is missing.
// The sync commits a chunk at a time (newest first): one full chunk and a fifth of another puts the first commit at
// 83 %, so the kill lands between two of them.
const TOTAL = Math.round(CHUNK * 1.2);
const USER = { user: 'crash@imap-crash.test', password: 'crash-pass' };
const SECRET_KEY = 'e'.repeat(64);

let dovecot: Dovecot;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
const data = tempDir('filo-imap-crash-');
let node: FiloProcess | undefined;
const env = () => ({
  DATABASE_URL: db.url,
  DATA_DIR: data.dir,
  SECRET_KEY,
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  // Dovecot listens on loopback, which the connection policy refuses unless listed.
  SMTP_ALLOWED_HOSTS: '127.0.0.1',
});

/** Writes the messages straight into the user's Maildir before its first login (Dovecot indexes them then). */
function seed(ids: string[]) {
  const owner = statSync(path.join(dovecot.dir, 'mail'));
  const home = path.join(dovecot.dir, 'mail', USER.user);
  for (const sub of ['', 'cur', 'new', 'tmp']) {
    mkdirSync(path.join(home, sub), { recursive: true });
    chownSync(path.join(home, sub), owner.uid, owner.gid);
  }
  const now = Date.now();
  ids.forEach((id, i) => {
    const date = new Date(now - (ids.length - i) * 60_000);
    const company = `company${i % 5}.example`;
    const raw = [
      `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
      `From: "Person ${i % 10}" <person${i % 10}@${company}>`,
      `To: <${USER.user}>`,
      `Subject: Order ${i} for ${company}`,
      `Message-ID: <${id}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Message ${i}: ${'a line of the body, '.repeat(20)}`.repeat(1 + (i % 5)),
      '',
    ].join('\r\n');
    const size = Buffer.byteLength(raw);
    const file = path.join(home, 'cur', `${Math.floor(date.getTime() / 1000)}.M${i}P1.crash,S=${size},W=${size}:2,`);
    writeFileSync(file, raw);
    chownSync(file, owner.uid, owner.gid);
    utimesSync(file, date, date);
  });
}

/** The demo member's private account on the Dovecot user, as the accounts API writes it (password encrypted). */
async function createAccount(client: pg.Client): Promise<{ id: string }> {
  const { rows } = await client.query<{ tenant_id: string; user_id: string }>(
    `select m.tenant_id, m.user_id from memberships m join users u on u.id = m.user_id where u.email = $1`,
    [DEMO.email],
  );
  const me = rows[0]!;
  const secrets = new Secrets(SECRET_KEY);
  const id = randomUUID();
  const mailboxId = randomUUID();
  await client.query(
    `insert into mailboxes (id, tenant_id, name, local_part, kind, private, member_ids)
     values ($1, $2, $3, $4, 'account', true, array[$5::text])`,
    [mailboxId, me.tenant_id, USER.user, `acct-${id.slice(0, 8)}`, me.user_id],
  );
  await client.query(
    `insert into email_accounts (id, tenant_id, mailbox_id, owner_id, email, imap_host, imap_port, imap_security,
       imap_user, imap_password_enc, smtp_host, smtp_port, smtp_security, smtp_user, smtp_password_enc)
     values ($1, $2, $3, $4, $5, $6, $7, 'none', $5, $8, $6, 25, 'none', $5, $9)`,
    [
      id,
      me.tenant_id,
      mailboxId,
      me.user_id,
      USER.user,
      dovecot.host,
      dovecot.port,
      secrets.encrypt(USER.password, IMAP_PASSWORD),
      secrets.encrypt(USER.password, SMTP_PASSWORD),
    ],
  );
  return { id };
}

beforeAll(async () => {
  dovecot = await startDovecot([USER]);
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
  await dovecot?.stop();
  data.remove();
});

describe('a crash during an account sync', () => {
  it('loses and duplicates nothing: after the restart every message is there exactly once', async () => {
    const ids = Array.from({ length: TOTAL }, (_, i) => `imap-crash-${i}@imap-crash.test`);
    seed(ids);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const account = await createAccount(client);
      const rows = async () =>
        (
          await client.query<{ n: number }>(`select count(*)::int as n from inbound_messages where account_id = $1`, [
            account.id,
          ])
        ).rows[0]!.n;
      // Killed while the sync is part way through: some rows written, others not, some being processed.
      await expect
        .poll(rows, { timeout: 60_000, interval: 5 })
        .toBeGreaterThanOrEqual(TOTAL * 0.1)
        .catch((err: Error) => {
          throw new Error(`${err.message}\n${node!.output().slice(-3000)}\n${dovecot.log().slice(-2000)}`);
        });
      node!.child.kill('SIGKILL');
      await node!.exited(10_000);
      const atKill = await rows();
      expect(atKill).toBeGreaterThanOrEqual(TOTAL * 0.1);
      expect(atKill).toBeLessThanOrEqual(TOTAL * 0.9);

      node = await spawnFilo(env());
      await waitHealthy(node);
      const diagnose = async () => {
        const { rows: byStatus } = await client.query(
          `select status, count(*)::int as n, min(error) as error from inbound_messages where account_id = $1 group by 1`,
          [account.id],
        );
        return `${JSON.stringify(byStatus)}\n${node!.output().slice(-3000)}`;
      };
      await expect
        .poll(
          async () =>
            (
              await client.query<{ n: number }>(
                `select count(*)::int as n from inbound_messages where account_id = $1 and status = 'processed'`,
                [account.id],
              )
            ).rows[0]!.n,
          { timeout: 240_000, interval: 250 },
        )
        .toBe(TOTAL)
        .catch(async (err: Error) => {
          throw new Error(`${err.message}\n${await diagnose()}`);
        });

      // One row per message at the provider, none missing.
      const { rows: inbound } = await client.query<{ id: string; n: number }>(
        `select message_id_header as id, count(*)::int as n from inbound_messages where account_id = $1 group by 1`,
        [account.id],
      );
      expect(inbound.filter((r) => r.n !== 1)).toEqual([]);
      expect(inbound.map((r) => r.id).sort()).toEqual([...ids].sort());
      // One message and one timeline entry per Message-ID, and each row made its own message.
      const { rows: messages } = await client.query<{ id: string; n: number }>(
        `select message_id_header as id, count(*)::int as n from messages where message_id_header = any($1) group by 1`,
        [ids],
      );
      expect(messages.filter((r) => r.n !== 1)).toEqual([]);
      expect(messages.length).toBe(TOTAL);
      const { rows: activities } = await client.query<{ id: string; n: number }>(
        `select metadata->>'messageId' as id, count(*)::int as n from activities
          where activity_type = 'email.received' and metadata->>'messageId' = any($1) group by 1`,
        [ids],
      );
      expect(activities.filter((r) => r.n !== 1)).toEqual([]);
      expect(activities.length).toBe(TOTAL);
      const { rows: made } = await client.query<{ rows: number; messages: number }>(
        `select count(*)::int as rows, count(distinct email_message_id)::int as messages
           from inbound_messages where account_id = $1`,
        [account.id],
      );
      expect(made[0]).toEqual({ rows: TOTAL, messages: TOTAL });
      console.warn(`imap crash test: ${atKill} of ${TOTAL} rows written at the kill`);
    } finally {
      await client.end();
    }
  }, 360_000);
});
