import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailAccountSchema } from '../db/entities/email-account.entity.ts';
import { MailboxSchema } from '../db/entities/mailbox.entity.ts';
import { IMAP_PASSWORD, OAUTH_ACCESS_TOKEN, SMTP_PASSWORD } from '../server/accounts/connect.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { startDovecot, type Dovecot, type DovecotUser } from './support/dovecot.ts';
import { apiClient, errorCode, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * Sending from a member's own account: through the account's SMTP server (a real `smtp-server` asking for AUTH
 * PLAIN) as its address or an alias, threaded like any reply, and filed once in its Sent folder on a real Dovecot.
 */

interface Received {
  raw: Buffer;
  mail: ParsedMail;
  mailFrom: string;
  rcpt: string[];
  user: string;
}

/**
 * The account's SMTP side: AUTH PLAIN against its own passwords (XOAUTH2 against its access tokens), `refuse`
 * answers the next DATA with a code.
 */
async function accountSmtp(passwords: Map<string, string>, tokens: Map<string, string>) {
  const received: Received[] = [];
  const state = { refuse: null as null | { code: number; message: string; times: number } };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authMethods: ['PLAIN', 'XOAUTH2'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      const user = auth.username ?? '';
      if (auth.method === 'XOAUTH2')
        return tokens.get(user) === auth.accessToken
          ? cb(null, { user })
          : cb(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
      if (auth.password !== undefined && passwords.get(user) === auth.password) return cb(null, { user });
      return cb(Object.assign(new Error('5.7.8 Username and Password not accepted'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (state.refuse && state.refuse.times > 0) {
          state.refuse.times -= 1;
          return cb(Object.assign(new Error(state.refuse.message), { responseCode: state.refuse.code }));
        }
        const raw = Buffer.concat(chunks);
        void simpleParser(raw).then((mail) => {
          received.push({
            raw,
            mail,
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcpt: session.envelope.rcptTo.map((r) => r.address),
            user: String(session.user),
          });
          cb();
        }, cb);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    /** The messages whose subject is `subject`, once `count` of them have arrived. */
    async arrivals(subject: string, count = 1): Promise<Received[]> {
      await expect
        .poll(() => received.filter((r) => r.mail.subject === subject).length, { timeout: 20_000, interval: 100 })
        .toBeGreaterThanOrEqual(count);
      return received.filter((r) => r.mail.subject === subject);
    },
  };
}

let dovecot: Dovecot;
let smtp: Awaited<ReturnType<typeof accountSmtp>>;
let filo: TestFilo;
let demo: ApiClient;
let sara: ApiClient;
let mario: ApiClient;
let tenantId: string;
const users: Record<string, string> = {};
const smtpPasswords = new Map<string, string>();
const accessTokens = new Map<string, string>();
/**
 * Every account's IMAP login, known to Dovecot from its start: adding a user rewrites its passwd file, and a sync
 * logging in meanwhile could read it half-written.
 */
const IMAP_USERS: DovecotUser[] = [
  'rita@studio.test',
  'piero@gmail.test',
  'gianni@gmail.test',
  'nadia@studio.test',
  'olga@studio.test',
].map((user) => ({ user, password: `imap-${randomBytes(6).toString('hex')}` }));

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: filo.databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

interface Account {
  id: string;
  mailboxId: string;
  email: string;
  imap: DovecotUser;
}

/**
 * An account as the accounts screen makes one: its private mailbox (kind `account`, seen by its owner) and the
 * account row, IMAP on Dovecot and SMTP on the test's server, each with its own password (stored encrypted).
 */
async function connectAccount(opts: {
  email: string;
  owner: string;
  displayName?: string;
  aliases?: string[];
  smtpPassword?: string;
  imapPassword?: string;
  providerSavesSent?: boolean;
}): Promise<Account> {
  const imap = IMAP_USERS.find((u) => u.user === opts.email)!;
  const smtpPassword = `smtp-${randomBytes(6).toString('hex')}`;
  smtpPasswords.set(opts.email, smtpPassword);
  const secrets = new Secrets(filo.config.secretKey);
  return inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
    const ownerId = users[opts.owner]!;
    const mailbox = em.create(MailboxSchema, {
      tenantId,
      name: opts.displayName ?? opts.email,
      kind: 'account',
      private: true,
      localPart: `acct-${randomBytes(4).toString('hex')}`,
      memberIds: [ownerId],
    });
    const account = em.create(EmailAccountSchema, {
      tenantId,
      mailboxId: mailbox.id,
      ownerId,
      email: opts.email,
      displayName: opts.displayName ?? null,
      aliases: opts.aliases ?? [],
      imapHost: dovecot.host,
      imapPort: dovecot.port,
      imapSecurity: 'none',
      imapUser: imap.user,
      imapPasswordEnc: secrets.encrypt(opts.imapPassword ?? imap.password, IMAP_PASSWORD),
      smtpHost: '127.0.0.1',
      smtpPort: smtp.port,
      smtpSecurity: 'none',
      smtpUser: opts.email,
      smtpPasswordEnc: secrets.encrypt(opts.smtpPassword ?? smtpPassword, SMTP_PASSWORD),
      providerSavesSent: opts.providerSavesSent ?? false,
    });
    await em.flush();
    return { id: account.id, mailboxId: mailbox.id, email: opts.email, imap };
  });
}

/** A customer's message in the account's mailbox, as the sync brings one in: the thread a reply continues. */
async function customerMessage(account: Account, subject: string): Promise<{ conversationId: string; id: string }> {
  const id = `${randomBytes(6).toString('hex')}@cliente.test`;
  return inTenant(filo.orm, systemActor(tenantId), async (uow) => {
    const { conversation } = await filo.services.conversations.openOrAppend(uow, {
      mailboxId: account.mailboxId,
      conversationId: null,
      open: { subject, normalizedSubject: subject.toLowerCase() },
      author: 'customer',
      direction: 'inbound',
      participants: ['giulia@cliente.test'],
      link: { contactId: null, companyId: null },
      at: new Date(),
      message: {
        classification: 'message',
        messageIdHeader: id,
        fromAddress: 'giulia@cliente.test',
        fromName: 'Giulia Verdi',
        subject,
        text: 'Ci mandate il preventivo?',
        attachments: [],
        email: {
          inReplyTo: 'first@cliente.test',
          references: ['first@cliente.test'],
          to: [{ address: account.email, name: '' }],
          cc: [],
          auth: null,
        },
      },
    });
    return { conversationId: conversation.id, id };
  });
}

/** The account's Sent folder as another mail program sees it: each message's Message-ID, flags and bytes. */
async function sentFolder(account: Account) {
  const client = await dovecot.client(account.imap);
  try {
    const lock = await client.getMailboxLock('Sent');
    try {
      const out: { uid: number; messageId: string; flags: string[]; source: Buffer }[] = [];
      if ((client.mailbox as { exists: number }).exists === 0) return out;
      for await (const m of client.fetch('1:*', { uid: true, flags: true, envelope: true, source: true }))
        out.push({
          uid: m.uid,
          messageId: m.envelope?.messageId ?? '',
          flags: [...(m.flags ?? [])],
          source: m.source!,
        });
      return out;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

/** The send job of `messageId` has finished (done or given up): whatever it was going to do is done. */
async function jobSettled(messageId: string) {
  await expect
    .poll(
      async () =>
        (
          await query<{ n: number }>(
            `select count(*)::int as n from pgboss.job where name = 'outbound.send' and data->>'messageId' = $1
                and state not in ('completed', 'failed', 'cancelled')`,
            [messageId],
          )
        )[0]!.n,
      { timeout: 20_000, interval: 100 },
    )
    .toBe(0);
}

async function delivered(client: ApiClient, messageId: string, status: 'sent' | 'failed') {
  await expect
    .poll(async () => (await client.json('GET', `/api/inbox/messages/${messageId}/delivery`)).status, {
      timeout: 20_000,
      interval: 100,
    })
    .toBe(status);
  return client.json('GET', `/api/inbox/messages/${messageId}/delivery`);
}

/**
 * Where the sync engine runs (worker role), the account's own sync first reaches `status`: what the send then
 * records about the account's health is not overwritten by its first connection.
 */
async function syncReached(account: Account, status: 'connected' | 'error') {
  if (!(filo.jobs as { accountSync?: () => unknown } | undefined)?.accountSync?.()) return;
  await expect
    .poll(
      async () => {
        const [row] = await query<{ status: string; last_error: string | null }>(
          `select status, last_error from email_accounts where id = $1`,
          [account.id],
        );
        // The words come along so that a sync failing for another reason says which.
        return `${row!.status}: ${row!.last_error ?? ''}`;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toMatch(new RegExp(`^${status}:`));
}

let rita: Account;

beforeAll(async () => {
  dovecot = await startDovecot(IMAP_USERS);
  smtp = await accountSmtp(smtpPasswords, accessTokens);
  filo = await startTestFilo({
    OUTBOUND_RETRY_DELAY: '1',
    // The accounts' own sync runs too: Sent is read back within a second.
    ACCOUNT_SYNC_POLL_MS: '200',
    ACCOUNT_FOLDER_POLL_SECONDS: '1',
    SMTP_ALLOWED_HOSTS: '127.0.0.1',
    SMTP_ALLOW_PLAIN_AUTH: '1',
  });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
  mario = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'mario@filo.local', password: 'filo-demo' }));
  for (const row of await query<{ email: string; id: string; tenant_id: string }>(
    `select u.email, u.id, ms.tenant_id from users u join memberships ms on ms.user_id = u.id
      join tenants t on t.id = ms.tenant_id where t.slug = 'demo'`,
  )) {
    users[row.email] = row.id;
    tenantId = row.tenant_id;
  }
  rita = await connectAccount({
    email: 'rita@studio.test',
    owner: 'demo@filo.local',
    displayName: 'Rita Studio',
    aliases: ['info@studio.test'],
  });
}, 60_000);

afterAll(async () => {
  await filo?.close();
  await smtp?.close();
  await dovecot?.stop();
});

describe('sending from a member’s account', () => {
  it('replies through the account’s SMTP server as the account, threaded, and files the same bytes once in Sent as seen', async () => {
    const thread = await customerMessage(rita, 'Preventivo 2027');
    const queued = await demo.json(
      'POST',
      `/api/inbox/conversations/${thread.conversationId}/replies`,
      { body: 'Ecco il preventivo.' },
      202,
    );
    expect(queued.from).toEqual({ address: 'rita@studio.test', name: 'Rita Studio' });
    expect(queued.messageId).toMatch(/@studio\.test$/);

    const [arrived, ...more] = await smtp.arrivals('Re: Preventivo 2027');
    expect(more).toHaveLength(0);
    expect(arrived!.user).toBe('rita@studio.test');
    expect(arrived!.mailFrom).toBe('rita@studio.test');
    expect(arrived!.rcpt).toEqual(['giulia@cliente.test']);
    expect(arrived!.mail.from?.value).toEqual([{ address: 'rita@studio.test', name: 'Rita Studio' }]);
    expect(arrived!.mail.messageId).toBe(`<${queued.messageId}>`);
    expect(arrived!.mail.inReplyTo).toBe(`<${thread.id}>`);
    expect(arrived!.mail.references).toEqual(['<first@cliente.test>', `<${thread.id}>`]);

    const sent = await delivered(demo, queued.id, 'sent');
    expect(sent.transport).toBe('account');

    // Filed once, as read, with exactly the bytes the SMTP server took; its UID kept on the delivery.
    await expect.poll(async () => (await sentFolder(rita)).length, { timeout: 20_000, interval: 200 }).toBe(1);
    const [copy] = await sentFolder(rita);
    expect(copy!.messageId).toBe(`<${queued.messageId}>`);
    expect(copy!.flags).toContain('\\Seen');
    expect(copy!.source.equals(arrived!.raw)).toBe(true);
    await jobSettled(queued.id);
    const [row] = await query<{ sent_copy_folder: string; sent_copy_uid: string; account_id: string }>(
      `select sent_copy_folder, sent_copy_uid, account_id from outbound_deliveries where id = $1`,
      [queued.id],
    );
    expect(row).toEqual({ sent_copy_folder: 'Sent', sent_copy_uid: String(copy!.uid), account_id: rita.id });
    expect(await sentFolder(rita)).toHaveLength(1);
  });

  it('the Sent copy the account’s sync reads back is the message already sent: one message, one timeline entry', async () => {
    const thread = await customerMessage(rita, 'Copia in Inviata');
    const queued = await demo.json(
      'POST',
      `/api/inbox/conversations/${thread.conversationId}/replies`,
      { body: 'Ecco.' },
      202,
    );
    await delivered(demo, queued.id, 'sent');
    // The sync fetched the copy from Sent and the pipeline processed it.
    await expect
      .poll(
        async () =>
          (
            await query<{ status: string; duplicate_of: string | null }>(
              `select status, details->>'duplicateOf' as duplicate_of from inbound_messages
                where account_id = $1 and message_id_header = $2`,
              [rita.id, queued.messageId],
            )
          ).map((r) => r.status),
        { timeout: 30_000, interval: 200 },
      )
      .toEqual(['processed']);
    const [copy] = await query<{ duplicate_of: string | null }>(
      `select details->>'duplicateOf' as duplicate_of from inbound_messages where account_id = $1 and message_id_header = $2`,
      [rita.id, queued.messageId],
    );
    expect(copy!.duplicate_of).toBe(queued.id);
    const messages = await query<{ id: string }>(`select id from messages where message_id_header = $1`, [
      queued.messageId,
    ]);
    expect(messages).toEqual([{ id: queued.id }]);
    const activities = await query<{ n: number }>(
      `select count(*)::int as n from activities where activity_type = 'email.sent' and metadata->>'emailMessageId' = $1`,
      [queued.id],
    );
    expect(activities[0]!.n).toBe(1);
  });

  it('starts a new conversation from an alias of the account, in the account’s mailbox', async () => {
    const queued = await demo.json(
      'POST',
      '/api/inbox/messages',
      {
        from: { accountId: rita.id, address: 'Info@Studio.test' },
        to: 'marco@cliente.test',
        subject: 'Dall’alias',
        body: 'Buongiorno.',
      },
      202,
    );
    const [arrived] = await smtp.arrivals('Dall’alias');
    expect(arrived!.mail.from?.value).toEqual([{ address: 'info@studio.test', name: 'Rita Studio' }]);
    expect(arrived!.user).toBe('rita@studio.test');
    const conversation = await demo.json('GET', `/api/inbox/conversations/${queued.conversationId}`);
    expect(conversation.mailboxId).toBe(rita.mailboxId);
    await delivered(demo, queued.id, 'sent');
  });

  it('refuses a From that is neither the account’s address nor an alias, and a mailbox that is not the account’s', async () => {
    const thread = await customerMessage(rita, 'Da chi?');
    const res = await demo.call('POST', `/api/inbox/conversations/${thread.conversationId}/replies`, {
      body: 'Ciao',
      from: { accountId: rita.id, address: 'boss@studio.test' },
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('from_not_allowed');
    const support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Supporto', localPart: 'supporto' });
    const mismatch = await demo.call('POST', '/api/inbox/messages', {
      mailboxId: support.id,
      from: { accountId: rita.id },
      to: 'marco@cliente.test',
      subject: 'Dove?',
      body: 'Ciao',
    });
    expect(mismatch.status).toBe(400);
    expect(await errorCode(mismatch)).toBe('from_mailbox_mismatch');
    const messages = await query<{ n: number }>(`select count(*)::int as n from messages where subject in ($1, $2)`, [
      'Re: Da chi?',
      'Dove?',
    ]);
    expect(messages[0]!.n).toBe(0);
  });

  it('lists the accounts a member may send from, and no one sends from another member’s private account', async () => {
    const senders = await demo.json('GET', '/api/inbox/senders');
    expect(senders.items).toEqual(
      expect.arrayContaining([
        {
          kind: 'account',
          mailboxId: rita.mailboxId,
          accountId: rita.id,
          address: 'rita@studio.test',
          name: 'Rita Studio',
        },
        {
          kind: 'account',
          mailboxId: rita.mailboxId,
          accountId: rita.id,
          address: 'info@studio.test',
          name: 'Rita Studio',
        },
      ]),
    );
    for (const other of [sara, mario]) {
      const theirs = await other.json('GET', '/api/inbox/senders');
      expect(theirs.items.some((s: { accountId: string | null }) => s.accountId === rita.id)).toBe(false);
      const start = await other.call('POST', '/api/inbox/messages', {
        from: { accountId: rita.id },
        to: 'marco@cliente.test',
        subject: 'Non mio',
        body: 'Ciao',
      });
      expect(start.status).toBe(404);
      const byMailbox = await other.call('POST', '/api/inbox/messages', {
        mailboxId: rita.mailboxId,
        to: 'marco@cliente.test',
        subject: 'Non mio',
        body: 'Ciao',
      });
      expect(byMailbox.status).toBe(404);
    }
    // Not in a conversation of the account either, admin or not.
    const thread = await customerMessage(rita, 'Riservato');
    for (const other of [sara, mario]) {
      const reply = await other.call('POST', `/api/inbox/conversations/${thread.conversationId}/replies`, {
        body: 'Rispondo io',
      });
      expect(reply.status).toBe(404);
    }
    const written = await query<{ n: number }>(`select count(*)::int as n from messages where subject in ($1, $2)`, [
      'Non mio',
      'Re: Riservato',
    ]);
    expect(written[0]!.n).toBe(0);
  });

  it('files nothing in Sent when the provider files sent mail itself', async () => {
    const gmail = await connectAccount({
      email: 'piero@gmail.test',
      owner: 'demo@filo.local',
      providerSavesSent: true,
    });
    const queued = await demo.json(
      'POST',
      '/api/inbox/messages',
      { from: { accountId: gmail.id }, to: 'marco@cliente.test', subject: 'Da Gmail', body: 'Ciao' },
      202,
    );
    await smtp.arrivals('Da Gmail');
    await delivered(demo, queued.id, 'sent');
    await jobSettled(queued.id);
    expect(await sentFolder(gmail)).toEqual([]);
  });

  it('sends through XOAUTH2 for an account signed in with Google, which files sent mail itself', async () => {
    const google = await connectAccount({
      email: 'gianni@gmail.test',
      owner: 'demo@filo.local',
      providerSavesSent: true,
    });
    const token = `ya29.${randomBytes(12).toString('hex')}`;
    accessTokens.set('gianni@gmail.test', token);
    const secrets = new Secrets(filo.config.secretKey);
    await query(
      `update email_accounts set provider = 'google', auth_method = 'oauth2', smtp_password_enc = null,
          oauth_access_token_enc = $2, oauth_expires_at = now() + interval '1 hour', enabled = false where id = $1`,
      [google.id, secrets.encrypt(token, OAUTH_ACCESS_TOKEN)],
    );
    const queued = await demo.json(
      'POST',
      '/api/inbox/messages',
      { from: { accountId: google.id }, to: 'marco@cliente.test', subject: 'Con OAuth2', body: 'Ciao' },
      202,
    );
    const [arrived] = await smtp.arrivals('Con OAuth2');
    expect(arrived!.user).toBe('gianni@gmail.test');
    expect(arrived!.mail.from?.value[0]!.address).toBe('gianni@gmail.test');
    expect((await delivered(demo, queued.id, 'sent')).transport).toBe('account');
  });

  it('a temporary refusal is tried again and the message goes out once', async () => {
    smtp.state.refuse = { code: 451, message: '4.3.0 Try again later', times: 1 };
    const queued = await demo.json(
      'POST',
      '/api/inbox/messages',
      { from: { accountId: rita.id }, to: 'marco@cliente.test', subject: 'Ritenta', body: 'Ciao' },
      202,
    );
    const sent = await delivered(demo, queued.id, 'sent');
    expect(sent.attempts).toBe(2);
    await jobSettled(queued.id);
    expect(await smtp.arrivals('Ritenta')).toHaveLength(1);
    const copies = (await sentFolder(rita)).filter((m) => m.messageId === `<${queued.messageId}>`);
    expect(copies).toHaveLength(1);
  });

  it('a wrong SMTP password puts the account in error with the server’s words and fails the message', async () => {
    const wrong = await connectAccount({ email: 'nadia@studio.test', owner: 'demo@filo.local', smtpPassword: 'old' });
    await syncReached(wrong, 'connected');
    const thread = await customerMessage(wrong, 'Password cambiata');
    const queued = await demo.json(
      'POST',
      `/api/inbox/conversations/${thread.conversationId}/replies`,
      { body: 'Eccomi' },
      202,
    );
    const failed = await delivered(demo, queued.id, 'failed');
    expect(failed.error).toContain('Username and Password not accepted');
    expect(failed.attempts).toBe(1);
    const [account] = await query<{ status: string; last_error: string }>(
      `select status, last_error from email_accounts where id = $1`,
      [wrong.id],
    );
    expect(account!.status).toBe('error');
    expect(account!.last_error).toContain('Username and Password not accepted');
    // Shown in the conversation, with the reason.
    const { messages } = await demo.json('GET', `/api/inbox/conversations/${thread.conversationId}`);
    const shown = messages.find((m: { id: string }) => m.id === queued.id);
    expect(shown.status).toBe('failed');
    expect(shown.error).toContain('Username and Password not accepted');
    expect(smtp.received.some((r) => r.mail.subject === 'Re: Password cambiata')).toBe(false);
    expect(await sentFolder(wrong)).toEqual([]);
    // Its owner is told, in the server's words.
    const notifications = await demo.json('GET', '/api/notifications');
    const told = notifications.items.filter(
      (n: { type: string; data: { email?: string } | null }) =>
        n.type === 'account_error' && n.data?.email === 'nadia@studio.test',
    );
    expect(told).toHaveLength(1);
    expect(told[0].data.error).toContain('Username and Password not accepted');
  });

  it('sent mail whose Sent folder refuses it stays sent (once), with a notice on the message and in the account’s health', async () => {
    const noImap = await connectAccount({ email: 'olga@studio.test', owner: 'demo@filo.local', imapPassword: 'wrong' });
    await syncReached(noImap, 'error');
    const queued = await demo.json(
      'POST',
      '/api/inbox/messages',
      { from: { accountId: noImap.id }, to: 'marco@cliente.test', subject: 'Senza Sent', body: 'Ciao' },
      202,
    );
    await delivered(demo, queued.id, 'sent');
    await jobSettled(queued.id);
    const [message] = await query<{ notices: string[]; status: string }>(
      `select notices, status from messages where id = $1`,
      [queued.id],
    );
    expect(message).toEqual({ notices: ['sent_copy_failed'], status: 'sent' });
    const [account] = await query<{ status: string; last_error: string }>(
      `select status, last_error from email_accounts where id = $1`,
      [noImap.id],
    );
    expect(account!.status).toBe('error');
    expect(account!.last_error).toMatch(/Sent.*Authentication failed/);
    expect(await smtp.arrivals('Senza Sent')).toHaveLength(1);
    expect(await sentFolder(noImap)).toEqual([]);
  });
});
