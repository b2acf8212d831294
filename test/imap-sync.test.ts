import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountHealth } from '#contracts/accounts';
import { IMAP_PASSWORD, SMTP_PASSWORD } from '../server/accounts/connect.ts';
import { startAccountSync, type SyncEngine } from '../server/accounts/sync/engine.ts';
import { BACKLOG_PRIORITY } from '../server/accounts/sync/sync-store.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { startDovecot, type Dovecot, type DovecotUser } from './support/dovecot.ts';
import {
  apiClient,
  createTestDatabase,
  login,
  startTestFilo,
  tempDir,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';
import { LiveClient } from './support/live.ts';

const SECRET_KEY = 'imap-sync-engine-test-secret-key-'.padEnd(64, 'e');
const ALICE: DovecotUser = { user: 'alice@sync.test', password: 'alice-right-horse' };
const BOB: DovecotUser = { user: 'bob@sync.test', password: 'bob-right-horse' };
/** The contact of the live test; what Alice sent goes to someone else (its processing would make this contact first). */
const CUSTOMER = 'giulia.neri@acme-sync.test';
const RECIPIENT = 'mario.rossi@elsewhere-sync.test';
/** Messages in INBOX's window, older ones outside it, and in Sent. */
const N = 12;
const OLD = 2;
const SENT = 3;

let dovecot: Dovecot;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let data: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let filo: TestFilo;
/** The engine of a second worker node (started in the first test, syncing from then on), and its body count. */
let second: SyncEngine | undefined;
let bodies = 0;
let demo: ApiClient;
let tenantId: string;
let ownerId: string;
let pgc: pg.Client;
let alice: { id: string; email: string };
const clients: LiveClient[] = [];

function mail(opts: { from: string; to: string; subject: string; messageId: string; date?: Date }): string {
  return [
    `From: ${opts.from}`,
    `To: ${opts.to}`,
    `Subject: ${opts.subject}`,
    `Message-ID: <${opts.messageId}>`,
    `Date: ${(opts.date ?? new Date()).toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Body of ${opts.subject}.`,
    '',
  ].join('\r\n');
}

/** An account row and its mailbox (private to the demo owner), written directly as the accounts service would. */
async function createAccount(user: DovecotUser, password = user.password) {
  const secrets = new Secrets(SECRET_KEY);
  const mailboxId = randomUUID();
  const id = randomUUID();
  await pgc.query(
    `insert into mailboxes (id, tenant_id, name, local_part, kind, private, member_ids)
     values ($1, $2, $3, $4, 'account', true, array[$5::text])`,
    [mailboxId, tenantId, user.user, `acct-${id.slice(0, 8)}`, ownerId],
  );
  await pgc.query(
    `insert into email_accounts (id, tenant_id, mailbox_id, owner_id, email, imap_host, imap_port, imap_security,
       imap_user, imap_password_enc, smtp_host, smtp_port, smtp_security, smtp_user, smtp_password_enc)
     values ($1, $2, $3, $4, $5, '127.0.0.1', $6, 'none', $5, $7, '127.0.0.1', 25, 'none', $5, $8)`,
    [
      id,
      tenantId,
      mailboxId,
      ownerId,
      user.user,
      dovecot.port,
      secrets.encrypt(password, IMAP_PASSWORD),
      secrets.encrypt('smtp', SMTP_PASSWORD),
    ],
  );
  return { id, email: user.user };
}

interface Row {
  id: string;
  path: string;
  uid: string;
  validity: string;
  message_id_header: string | null;
  imap_flags: string[] | null;
  imap_expunged_at: Date | null;
  spool_key: string | null;
}

async function rows(accountId: string): Promise<Row[]> {
  const { rows: found } = await pgc.query<Row>(
    `select i.id, f.path, i.imap_uid as uid, i.imap_uid_validity as validity, i.message_id_header, i.imap_flags,
            i.imap_expunged_at, i.spool_key
       from inbound_messages i join email_account_folders f on f.id = i.folder_id
      where i.account_id = $1 order by f.path, i.imap_uid`,
    [accountId],
  );
  return found;
}

async function accountRow(id: string) {
  const { rows: found } = await pgc.query(
    `select status, sync_done, sync_total, last_error, last_sync_at from email_accounts where id = $1`,
    [id],
  );
  return found[0];
}

type Client = Awaited<ReturnType<typeof dovecot.client>>;

/** A client makes `folder` again, empty (a new UIDVALIDITY), its messages kept aside in `aside`. */
async function emptyAgain(client: Client, folder: string, aside: string) {
  await client.mailboxCreate(aside);
  await client.mailboxOpen(folder);
  await client.messageCopy('1:*', aside);
  await client.mailboxClose();
  await client.mailboxDelete(folder);
  await client.mailboxCreate(folder);
}

/** Then moves them back (new UIDs) and removes `aside`. */
async function moveBack(client: Client, aside: string, folder: string) {
  await client.mailboxOpen(aside);
  await client.messageMove('1:*', folder);
  await client.mailboxClose();
  await client.mailboxDelete(aside);
}

/** Message bodies in the spool (each fetched body is one file). */
function spoolFiles(): number {
  const root = path.join(data.dir, 'spool');
  let n = 0;
  for (const day of readdirSync(root, { withFileTypes: true }))
    if (day.isDirectory()) n += readdirSync(path.join(root, day.name)).length;
  return n;
}

/** IMAP connections Dovecot has open for this user now (`doveadm who`). */
function connectionsOf(user: string): number {
  const out = execFileSync('doveadm', ['-c', path.join(dovecot.dir, 'dovecot.conf'), 'who', '-1'], {
    encoding: 'utf8',
  });
  return out.split('\n').filter((line) => line.split(/\s+/)[0] === user).length;
}

const owned = (node: TestFilo) => node.jobs!.accountSync()?.owned() ?? [];

beforeAll(async () => {
  dovecot = await startDovecot([ALICE, BOB]);
  db = await createTestDatabase();
  data = tempDir('filo-sync-data-');
  env = {
    DATABASE_URL: db.url,
    DATA_DIR: data.dir,
    ROLES: 'web,worker',
    SECRET_KEY,
    SMTP_ALLOWED_HOSTS: '127.0.0.1',
    ACCOUNT_SYNC_POLL_MS: '200',
    ACCOUNT_FOLDER_POLL_SECONDS: '1',
  };
  filo = await startTestFilo(env);
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  const me = await demo.json('GET', '/api/auth/me');
  tenantId = me.workspace.id;
  ownerId = me.user.id;
  pgc = new pg.Client({ connectionString: filo.databaseUrl });
  await pgc.connect();

  // Alice's mailbox before Filo knows it: the window's messages, two older ones, and what she sent.
  const other = await dovecot.client(ALICE);
  for (let i = 0; i < N; i++)
    await other.append(
      'INBOX',
      mail({
        from: `Sender ${i} <sender${i}@customers-sync.test>`,
        to: ALICE.user,
        subject: `Inbox ${i}`,
        messageId: `inbox-${i}@customers-sync.test`,
      }),
      [],
      new Date(Date.now() - (N - i) * 3_600_000),
    );
  for (let i = 0; i < OLD; i++)
    await other.append(
      'INBOX',
      mail({ from: 'old@customers-sync.test', to: ALICE.user, subject: `Old ${i}`, messageId: `old-${i}@sync.test` }),
      [],
      new Date(Date.now() - 200 * 86_400_000),
    );
  for (let i = 0; i < SENT; i++)
    await other.append(
      'Sent',
      mail({ from: ALICE.user, to: RECIPIENT, subject: `Sent ${i}`, messageId: `sent-${i}@sync.test` }),
      ['\\Seen'],
    );
  await other.logout();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await second?.stop();
  await filo?.close();
  await pgc?.end();
  await db?.drop();
  data?.remove();
  await dovecot?.stop();
});

describe('IMAP sync', () => {
  it('imports the window exactly once with progress, and a second node taking over imports nothing', async () => {
    const live = new LiveClient(filo.baseUrl, { cookie: demo.cookie });
    clients.push(live);
    const health: AccountHealth[] = [];
    live.socket.on('account:health', (h) => health.push(h));
    await live.ready();

    alice = await createAccount(ALICE);
    await expect
      .poll(async () => (await accountRow(alice.id))?.status, { timeout: 30_000, interval: 100 })
      .toBe('connected');
    const stored = await rows(alice.id);
    expect(stored.filter((r) => r.path === 'INBOX')).toHaveLength(N);
    expect(stored.filter((r) => r.path === 'Sent')).toHaveLength(SENT);
    expect(new Set(stored.map((r) => r.message_id_header)).size).toBe(N + SENT);
    expect(stored.some((r) => r.message_id_header?.startsWith('old-'))).toBe(false);
    expect(stored.every((r) => r.spool_key)).toBe(true);
    expect(await accountRow(alice.id)).toMatchObject({ sync_done: N + SENT, sync_total: N + SENT, last_error: null });
    await expect
      .poll(() => health.some((h) => h.accountId === alice.id && h.status === 'connected'), { timeout: 10_000 })
      .toBe(true);
    expect(health.some((h) => h.status === 'syncing' && h.syncDone < h.syncTotal)).toBe(true);
    // Junk, Trash and Drafts are listed but not read.
    const { rows: folders } = await pgc.query(
      `select path, special_use, synced from email_account_folders where account_id = $1 order by path`,
      [alice.id],
    );
    expect(folders).toEqual(
      expect.arrayContaining([
        { path: 'INBOX', special_use: 'inbox', synced: true },
        { path: 'Sent', special_use: 'sent', synced: true },
        { path: 'Trash', special_use: 'trash', synced: false },
        { path: 'Drafts', special_use: 'drafts', synced: false },
      ]),
    );
    expect(connectionsOf(ALICE.user)).toBeLessThanOrEqual(2);

    // A second node's engine (its own lock connection): the account stays with the first while that one runs.
    second = await startAccountSync({
      databaseUrl: filo.databaseUrl,
      boss: filo.jobs!.boss,
      spool: filo.services.spool,
      health: filo.services.accountHealth,
      connect: {
        secrets: new Secrets(SECRET_KEY),
        targets: filo.services.mailer.smtpTargets,
        log: pino({ level: 'silent' }),
      },
      log: pino({ level: 'silent' }),
      maxBytes: 25 * 1024 * 1024,
      pollMs: 200,
      timing: { folderPollMs: 1_000 },
      onBodies: (n) => (bodies += n),
    });
    await second.refresh();
    expect(second.owned()).toEqual([]);
    expect(owned(filo)).toEqual([alice.id]);

    // The first node's engine stops (a node going away): the second takes the account and fetches nothing again.
    const files = spoolFiles();
    const handover = new Date();
    await filo.jobs!.accountSync()!.stop();
    await expect.poll(() => second!.owned(), { timeout: 10_000, interval: 50 }).toEqual([alice.id]);
    // Its first full round (INBOX and Sent) ends with `connected` and a last sync after the handover.
    await expect
      .poll(
        async () => {
          const row = await accountRow(alice.id);
          return row?.status === 'connected' && row.last_sync_at > handover;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(true);
    expect(await rows(alice.id)).toHaveLength(N + SENT);
    // Its progress counts what it found already there.
    expect(await accountRow(alice.id)).toMatchObject({ sync_done: N + SENT, sync_total: N + SENT });
    expect(bodies).toBe(0);
    expect(spoolFiles()).toBe(files);
    expect(connectionsOf(ALICE.user)).toBeLessThanOrEqual(2);
    // Every row goes through the gateway's pipeline (processed, or failed with a reason: never left waiting).
    await expect
      .poll(
        async () =>
          (
            await pgc.query(
              `select count(*)::int as n from inbound_messages where account_id = $1 and status = 'received'`,
              [alice.id],
            )
          ).rows[0].n,
        { timeout: 60_000, interval: 200 },
      )
      .toBe(0);
  }, 120_000);

  it('brings flags and expunges made by another client, fetching no body', async () => {
    const files = spoolFiles();
    const fetchedBefore = bodies;
    const before = await rows(alice.id);
    const inbox = before.filter((r) => r.path === 'INBOX');
    const flagged = Number(inbox[3]!.uid);
    const removed = Number(inbox[5]!.uid);
    const other = await dovecot.client(ALICE);
    await other.mailboxOpen('INBOX');
    await other.messageFlagsAdd(String(flagged), ['\\Flagged', '$Important'], { uid: true });
    await other.messageDelete(String(removed), { uid: true });
    await other.logout();
    await expect
      .poll(
        async () => (await rows(alice.id)).find((r) => Number(r.uid) === flagged && r.path === 'INBOX')?.imap_flags,
        {
          timeout: 15_000,
          interval: 100,
        },
      )
      .toEqual(expect.arrayContaining(['\\Flagged', '$Important']));
    await expect
      .poll(
        async () =>
          (await rows(alice.id)).find((r) => Number(r.uid) === removed && r.path === 'INBOX')?.imap_expunged_at,
        { timeout: 15_000, interval: 100 },
      )
      .toBeInstanceOf(Date);
    expect(await rows(alice.id)).toHaveLength(before.length);
    expect(bodies).toBe(fetchedBefore);
    expect(spoolFiles()).toBe(files);
  });

  it('brings a message appended to INBOX to the contact’s company timeline on a socket (IDLE)', async () => {
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Acme Sync', type: 'client' });
    const contact = await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Giulia',
      lastName: 'Neri',
      email: CUSTOMER,
      companyId: company.id,
    });
    const live = new LiveClient(filo.baseUrl, { cookie: demo.cookie });
    clients.push(live);
    await live.ready();
    const ack = await live.watch('company', company.id);
    expect(ack.ok).toBe(true);
    const other = await dovecot.client(ALICE);
    await other.append(
      'INBOX',
      mail({
        from: `Giulia Neri <${CUSTOMER}>`,
        to: ALICE.user,
        subject: 'Order 42',
        messageId: 'order-42@acme-sync.test',
      }),
    );
    await other.logout();
    const activity = await live.until(
      () => live.activities.find((a) => a.type === 'email.received' && a.companyId === company.id),
      30_000,
    );
    expect(activity.entityId).toBe(contact.id);
    expect((await rows(alice.id)).filter((r) => r.message_id_header === 'order-42@acme-sync.test')).toHaveLength(1);
    // new mail is processed ahead of an initial sync's backlog: its job outranks those of the first sync
    const { rows: jobs } = await pgc.query(
      `select i.message_id_header as id, j.priority from inbound_messages i
         join pgboss.job j on j.name = 'inbound.process' and j.data->>'inboundId' = i.id::text
        where i.account_id = $1 and i.message_id_header in ('order-42@acme-sync.test', 'inbox-0@customers-sync.test')
        order by 1`,
      [alice.id],
    );
    expect(jobs).toEqual([
      { id: 'inbox-0@customers-sync.test', priority: BACKLOG_PRIORITY },
      { id: 'order-42@acme-sync.test', priority: 0 },
    ]);
  }, 45_000);

  it('rebases a folder whose UIDVALIDITY changed: nothing duplicated, only the new message fetched', async () => {
    const before = (await rows(alice.id)).filter((r) => r.path === 'Sent');
    const files = spoolFiles();
    const other = await dovecot.client(ALICE);
    // The folder is made again with the same messages: a new UIDVALIDITY and new UIDs.
    await emptyAgain(other, 'Sent', 'Rebuild');
    await moveBack(other, 'Rebuild', 'Sent');
    await other.append(
      'Sent',
      mail({ from: ALICE.user, to: RECIPIENT, subject: 'Sent after', messageId: 'sent-after@sync.test' }),
      ['\\Seen'],
    );
    const status = await other.status('Sent', { uidValidity: true });
    await other.logout();
    const validity = String(status && status.uidValidity);
    expect(validity).not.toBe(before[0]!.validity);
    await expect
      .poll(async () => (await rows(alice.id)).filter((r) => r.path === 'Sent' && r.validity === validity).length, {
        timeout: 20_000,
        interval: 100,
      })
      .toBe(SENT + 1);
    const after = (await rows(alice.id)).filter((r) => r.path === 'Sent');
    expect(after).toHaveLength(SENT + 1);
    expect(after.filter((r) => before.some((b) => b.id === r.id))).toHaveLength(SENT);
    expect(after.every((r) => r.imap_expunged_at === null)).toBe(true);
    expect(spoolFiles()).toBe(files + 1);
  }, 40_000);

  it('rebases a folder rebuilt in steps and seen empty half-way: its messages come back to their rows, none doubled', async () => {
    const before = (await rows(alice.id)).filter((r) => r.path === 'Sent');
    const files = spoolFiles();
    const other = await dovecot.client(ALICE);
    await emptyAgain(other, 'Sent', 'Hold');
    const status = await other.status('Sent', { uidValidity: true });
    const validity = String(status && status.uidValidity);
    // A pass has seen the new, empty folder: its UIDVALIDITY recorded, every row left unmatched (expunged).
    await expect
      .poll(
        async () => {
          const { rows: folder } = await pgc.query<{ uid_validity: string | null }>(
            `select uid_validity from email_account_folders where account_id = $1 and path = 'Sent'`,
            [alice.id],
          );
          const sent = (await rows(alice.id)).filter((r) => r.path === 'Sent');
          return folder[0]?.uid_validity === validity && sent.every((r) => r.imap_expunged_at !== null);
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(true);
    // Then the client moves the messages back, and one more arrives.
    await moveBack(other, 'Hold', 'Sent');
    await other.append(
      'Sent',
      mail({ from: ALICE.user, to: RECIPIENT, subject: 'Sent in steps', messageId: 'sent-steps@sync.test' }),
      ['\\Seen'],
    );
    await other.logout();
    await expect
      .poll(async () => (await rows(alice.id)).filter((r) => r.path === 'Sent' && r.validity === validity).length, {
        timeout: 20_000,
        interval: 100,
      })
      .toBe(before.length + 1);
    const after = (await rows(alice.id)).filter((r) => r.path === 'Sent');
    expect(after).toHaveLength(before.length + 1);
    expect(after.filter((r) => before.some((b) => b.id === r.id))).toHaveLength(before.length);
    expect(after.every((r) => r.imap_expunged_at === null)).toBe(true);
    // The bodies fetched again for the rows taken back are removed once their transaction has committed.
    await expect.poll(() => spoolFiles(), { timeout: 10_000, interval: 50 }).toBe(files + 1);
  }, 60_000);

  it('never sets \\Seen on a message it read', async () => {
    const other = await dovecot.client(ALICE);
    await other.mailboxOpen('INBOX', { readOnly: true });
    const seen: number[] = [];
    let count = 0;
    for await (const m of other.fetch('1:*', { uid: true, flags: true })) {
      count++;
      if (m.flags?.has('\\Seen')) seen.push(m.uid);
    }
    await other.logout();
    expect(count).toBeGreaterThanOrEqual(N);
    expect(seen).toEqual([]);
    const inboxRows = (await rows(alice.id)).filter((r) => r.path === 'INBOX');
    expect(inboxRows.filter((r) => r.imap_flags?.includes('\\Seen'))).toEqual([]);
  });

  it('puts an account with a wrong password in error with the server’s words, tells the owner, and recovers', async () => {
    const bob = await createAccount(BOB, 'not-the-password');
    await expect.poll(async () => (await accountRow(bob.id))?.status, { timeout: 20_000, interval: 100 }).toBe('error');
    expect((await accountRow(bob.id))?.last_error).toMatch(/Authentication failed/);
    const { rows: notes } = await pgc.query(
      `select user_id, data from notifications where type = 'account_error' and entity_id = $1`,
      [bob.id],
    );
    expect(notes).toEqual([
      { user_id: ownerId, data: { email: BOB.user, error: expect.stringMatching(/Authentication failed/) } },
    ]);
    // The right password (new credentials) restarts it at once, without waiting out the refusal's long backoff.
    await pgc.query(`update email_accounts set imap_password_enc = $2 where id = $1`, [
      bob.id,
      new Secrets(SECRET_KEY).encrypt(BOB.password, IMAP_PASSWORD),
    ]);
    await expect
      .poll(async () => (await accountRow(bob.id))?.status, { timeout: 30_000, interval: 100 })
      .toBe('connected');
    expect((await accountRow(bob.id))?.last_error).toBeNull();
  }, 60_000);

  it('reconnects when the server drops its connections, and says no error meanwhile', async () => {
    const health: AccountHealth[] = [];
    const live = new LiveClient(filo.baseUrl, { cookie: demo.cookie });
    clients.push(live);
    live.socket.on('account:health', (h) => health.push(h));
    await live.ready();
    execFileSync('doveadm', ['-c', path.join(dovecot.dir, 'dovecot.conf'), 'kick', ALICE.user]);
    // Both of the account's connections were cut.
    await expect
      .poll(
        () =>
          dovecot
            .log()
            .split('\n')
            .filter((l) => l.includes(`imap(${ALICE.user})`) && l.includes('Server shutting down')).length,
        { timeout: 10_000, interval: 50 },
      )
      .toBe(2);
    const other = await dovecot.client(ALICE);
    await other.append(
      'INBOX',
      mail({ from: 'late@customers-sync.test', to: ALICE.user, subject: 'After', messageId: 'after-kick@sync.test' }),
    );
    await other.logout();
    await expect
      .poll(async () => (await rows(alice.id)).some((r) => r.message_id_header === 'after-kick@sync.test'), {
        timeout: 20_000,
        interval: 100,
      })
      .toBe(true);
    expect(await accountRow(alice.id)).toMatchObject({ status: 'connected', last_error: null });
    expect(health.filter((h) => h.accountId === alice.id && h.status === 'error')).toEqual([]);
    expect(connectionsOf(ALICE.user)).toBeLessThanOrEqual(2);
  }, 30_000);

  it('stops an account’s connections when it is paused, and at most two were open', async () => {
    expect(connectionsOf(ALICE.user)).toBeLessThanOrEqual(2);
    expect(connectionsOf(ALICE.user)).toBeGreaterThan(0);
    await pgc.query(`update email_accounts set enabled = false where id = $1`, [alice.id]);
    await expect.poll(() => second!.owned(), { timeout: 10_000, interval: 50 }).not.toContain(alice.id);
    await expect.poll(() => connectionsOf(ALICE.user), { timeout: 10_000, interval: 100 }).toBe(0);
  });
});
