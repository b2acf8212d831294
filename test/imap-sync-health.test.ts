import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountHealth } from '#contracts/accounts';
import type { Notification } from '#contracts/timeline';
import { IMAP_PASSWORD, SMTP_PASSWORD } from '../server/accounts/connect.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { LiveClient } from './support/live.ts';

const SECRET_KEY = 'imap-sync-test-secret-key-'.padEnd(64, 'k');
let filo: TestFilo;
let demo: ApiClient;
let tenantId: string;
let ownerId: string;
let db: pg.Client;
const clients: LiveClient[] = [];

/** An account row and its mailbox, written directly (as the accounts service would), private to the demo owner. */
async function createAccount(over: { email?: string; host?: string; port?: number; user?: string; pass?: string }) {
  const secrets = new Secrets(SECRET_KEY);
  const mailboxId = randomUUID();
  const id = randomUUID();
  const email = over.email ?? `acct-${id.slice(0, 8)}@example.test`;
  await db.query(
    `insert into mailboxes (id, tenant_id, name, local_part, kind, private, member_ids)
     values ($1, $2, $3, $4, 'account', true, array[$5::text])`,
    [mailboxId, tenantId, email, `acct-${id.slice(0, 8)}`, ownerId],
  );
  await db.query(
    `insert into email_accounts (id, tenant_id, mailbox_id, owner_id, email, imap_host, imap_port, imap_security,
       imap_user, imap_password_enc, smtp_host, smtp_port, smtp_security, smtp_user, smtp_password_enc)
     values ($1, $2, $3, $4, $5, $6, $7, 'none', $8, $9, '127.0.0.1', 25, 'none', $8, $10)`,
    [
      id,
      tenantId,
      mailboxId,
      ownerId,
      email,
      over.host ?? '127.0.0.1',
      over.port ?? 1,
      over.user ?? email,
      secrets.encrypt(over.pass ?? 'secret', IMAP_PASSWORD),
      secrets.encrypt('smtp', SMTP_PASSWORD),
    ],
  );
  return { id, mailboxId, email };
}

async function socket(): Promise<{ live: LiveClient; health: AccountHealth[]; notes: Notification[] }> {
  const live = new LiveClient(filo.baseUrl, { cookie: demo.cookie });
  clients.push(live);
  const health: AccountHealth[] = [];
  const notes: Notification[] = [];
  live.socket.on('account:health', (h) => health.push(h));
  live.socket.on('notification:new', (n) => notes.push(n.notification));
  await live.ready();
  return { live, health, notes };
}

beforeAll(async () => {
  filo = await startTestFilo({ ROLES: 'web', SECRET_KEY });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  const me = await demo.json('GET', '/api/auth/me');
  tenantId = me.workspace.id;
  ownerId = me.user.id;
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await db?.end();
  await filo?.close();
});

describe('account health', () => {
  it('says error with the server’s words, notifies the owner once per refusal, and clears on success', async () => {
    const account = await createAccount({});
    const { health, notes } = await socket();
    const words = 'AUTHENTICATIONFAILED Authentication failed.';
    // A late "connected" in the same patch as a failure still says error: never connected while failing.
    await filo.services.accountHealth.setHealth(tenantId, account.id, {
      status: 'connected',
      lastError: words,
      authFailed: true,
    });
    // Polled: LiveClient wakes its waiters only on the events it records itself, not on `account:health`.
    await expect.poll(() => health.length >= 1 && notes.length >= 1, { timeout: 10_000, interval: 20 }).toBe(true);
    expect(health[0]).toMatchObject({ accountId: account.id, status: 'error', lastError: words });
    expect(health[0]!.lastErrorAt).not.toBeNull();
    expect(notes[0]).toMatchObject({
      type: 'account_error',
      data: { email: account.email, error: words },
      entityId: account.id,
    });
    // The same refusal again (a retry): the health is sent, the owner is not told twice.
    await filo.services.accountHealth.setHealth(tenantId, account.id, { lastError: words, authFailed: true });
    await expect.poll(() => health.length, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(2);
    const { rows } = await db.query(`select count(*)::int as n from notifications where type = 'account_error'`);
    expect(rows[0].n).toBe(1);
    // A success clears the error.
    await filo.services.accountHealth.setHealth(tenantId, account.id, {
      status: 'syncing',
      syncDone: 3,
      syncTotal: 10,
    });
    await expect.poll(() => health.length, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(3);
    expect(health[2]).toMatchObject({ status: 'syncing', syncDone: 3, syncTotal: 10, lastError: null });
    const [row] = (await db.query(`select status, last_error from email_accounts where id = $1`, [account.id])).rows;
    expect(row).toEqual({ status: 'syncing', last_error: null });
    expect(notes).toHaveLength(1);
  });

  it('keeps a refused SMTP login showing while the sync works, until a send works (and the other way round)', async () => {
    const account = await createAccount({});
    const set = (patch: Parameters<typeof filo.services.accountHealth.setHealth>[2]) =>
      filo.services.accountHealth.setHealth(tenantId, account.id, patch);
    const smtpWords = '535 5.7.8 Authentication credentials invalid';
    expect(await set({ status: 'error', lastError: smtpWords, side: 'smtp' })).toMatchObject({ status: 'error' });
    // the sync's rounds and progress say nothing about sending: still error, with the SMTP server's words
    expect(await set({ status: 'connected', lastSyncAt: new Date() })).toMatchObject({
      status: 'error',
      lastError: smtpWords,
    });
    expect(await set({ status: 'syncing', syncDone: 1, syncTotal: 2 })).toMatchObject({
      status: 'error',
      lastError: smtpWords,
    });
    // a message sent through the account clears it
    expect(await set({ side: 'smtp', ok: true })).toMatchObject({ status: 'connected', lastError: null });
    // a failing sync is not cleared by a send, only by the sync working again
    expect(await set({ status: 'error', lastError: 'IMAP gone' })).toMatchObject({ status: 'error' });
    expect(await set({ side: 'smtp', ok: true })).toMatchObject({ status: 'error', lastError: 'IMAP gone' });
    expect(await set({ status: 'connected' })).toMatchObject({ status: 'connected', lastError: null });
    // new credentials (or a resume) start both sides afresh
    await set({ status: 'error', lastError: smtpWords, side: 'smtp' });
    expect(await set({ status: 'pending', side: 'all' })).toMatchObject({ status: 'pending', lastError: null });
  });

  it('keeps a paused account paused whatever a late sync writes', async () => {
    const account = await createAccount({});
    await db.query(`update email_accounts set enabled = false, status = 'paused' where id = $1`, [account.id]);
    const health = await filo.services.accountHealth.setHealth(tenantId, account.id, { status: 'connected' });
    expect(health?.status).toBe('paused');
  });
});
