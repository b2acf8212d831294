import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailAccountSchema } from '../db/entities/email-account.entity.ts';
import { MailboxSchema } from '../db/entities/mailbox.entity.ts';
import { IMAP_PASSWORD, SMTP_PASSWORD } from '../server/accounts/connect.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { startDovecot, type Dovecot } from './support/dovecot.ts';
import { startTestFilo, type TestFilo } from './support/harness.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

// Sequence mail from a member's own email account: through the account's SMTP server with its login, never the relay.

interface Received {
  mail: ParsedMail;
  mailFrom: string;
  rcpt: string[];
  user: string;
}

/** The account's SMTP server: AUTH PLAIN required and checked against its password, every message kept. */
async function accountServer(user: string, password: string) {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user });
      return cb(Object.assign(new Error('5.7.8 Username and Password not accepted'), { responseCode: 535 }));
    },
    onMailFrom(address, session, cb) {
      // Only a logged-in client may send here, as the account does.
      if (!session.user) return cb(Object.assign(new Error('5.7.0 Authentication required'), { responseCode: 530 }));
      cb();
    },
    onData(stream, session, cb) {
      void simpleParser(stream).then((mail) => {
        received.push({
          mail,
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcpt: session.envelope.rcptTo.map((r) => r.address),
          user: String(session.user),
        });
        cb();
      }, cb);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const ALWAYS = { start: '00:00', end: '00:00', days: [1, 2, 3, 4, 5, 6, 7], lunch: null };

let filo: TestFilo;
let db: pg.Client;
let relay: SmtpSink;
let smtp: Awaited<ReturnType<typeof accountServer>>;
let tenantId: string;
let ownerId: string;
const smtpUser = 'marta@rep.test';
const smtpPassword = `pw-${randomBytes(6).toString('hex')}`;
let dovecot: Dovecot;
const imapUser = { user: 'marta@rep.test', password: `imap-${randomBytes(6).toString('hex')}` };

beforeAll(async () => {
  relay = await startSmtpSink();
  dovecot = await startDovecot([imapUser]);
  smtp = await accountServer(smtpUser, smtpPassword);
  filo = await startTestFilo({
    SMTP_ALLOWED_HOSTS: '127.0.0.1',
    SMTP_ALLOW_PLAIN_AUTH: '1',
    SMTP_RELAY_URL: relay.url,
    BULK_RATE_PER_SECOND: '1000',
  });
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  tenantId = (await db.query(`select id from tenants where slug = 'demo'`)).rows[0].id;
  ownerId = (await db.query(`select id from users where email = 'demo@filo.local'`)).rows[0].id;
});
afterAll(async () => {
  await db?.end();
  await filo?.close();
  await smtp?.close();
  await relay?.close();
  await dovecot?.stop();
});

/** A member's account (password auth) on the local SMTP server, with its sequence sending rules. */
async function makeAccount(email: string, password: string, providerSavesSent: boolean): Promise<string> {
  const secrets = new Secrets(filo.config.secretKey);
  const mailboxId = await inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
    const mailbox = em.create(MailboxSchema, {
      tenantId,
      // As server/accounts/accounts.service.ts makes an account's mailbox: its address is the account's.
      name: 'Marta Rossi',
      address: email,
      kind: 'account',
      private: true,
      localPart: `acct-${randomBytes(4).toString('hex')}`,
      memberIds: [ownerId],
    });
    em.create(EmailAccountSchema, {
      tenantId,
      mailboxId: mailbox.id,
      ownerId,
      email,
      displayName: 'Marta Rossi',
      aliases: [],
      imapHost: dovecot.host,
      imapPort: dovecot.port,
      imapSecurity: 'none',
      imapUser: imapUser.user,
      imapPasswordEnc: secrets.encrypt(imapUser.password, IMAP_PASSWORD),
      smtpHost: '127.0.0.1',
      smtpPort: smtp.port,
      smtpSecurity: 'none',
      smtpUser,
      smtpPasswordEnc: secrets.encrypt(password, SMTP_PASSWORD),
      providerSavesSent,
    });
    await em.flush();
    return mailbox.id;
  });
  await db.query(
    `insert into sequence_mailboxes (mailbox_id, tenant_id, daily_cap, hourly_cap, min_gap_seconds, max_gap_seconds,
                                     time_zone, workday)
     values ($1, $2, 500, 500, 0, 0, 'UTC', $3)`,
    [mailboxId, tenantId, JSON.stringify(ALWAYS)],
  );
  return mailboxId;
}

/** An active one-email sequence over `mailboxIds`, one prospect enrolled and started; answers the step and prospect. */
async function sequenceWithProspect(mailboxIds: string[], subject: string) {
  const id = randomUUID();
  await db.query(
    `insert into sequences (id, tenant_id, name, status, owner_id, mailbox_ids, settings, created_by)
     values ($1, $2, $3, 'active', $4, $5, $6, $4)`,
    [
      id,
      tenantId,
      `Seq ${id.slice(0, 6)}`,
      ownerId,
      JSON.stringify(mailboxIds),
      JSON.stringify({
        window: ALWAYS,
        stopOnReply: true,
        excludeOpenDeals: false,
        trackOpens: false,
        trackClicks: false,
      }),
    ],
  );
  const stepId = randomUUID();
  await db.query(
    `insert into sequence_steps (id, tenant_id, sequence_id, position, kind, config) values ($1, $2, $3, 0, 'email', $4)`,
    [
      stepId,
      tenantId,
      id,
      JSON.stringify({ kind: 'email', subject, body: 'Hi {{contact.first_name}},', newThread: false }),
    ],
  );
  const contactId = randomUUID();
  const address = `p-${contactId.slice(0, 8)}@prospect.test`;
  await db.query(
    `insert into contacts (id, tenant_id, first_name, last_name, email) values ($1, $2, 'Pat', 'Prospect', $3)`,
    [contactId, tenantId, address],
  );
  const enrolmentId = randomUUID();
  await db.query(
    `insert into sequence_enrolments (id, tenant_id, sequence_id, contact_id, address, time_zone, time_zone_source)
     values ($1, $2, $3, $4, $5, 'Europe/Rome', 'contact')`,
    [enrolmentId, tenantId, id, contactId, address],
  );
  await inTenant(filo.orm, systemActor(tenantId), (uow) =>
    filo.services.sequenceEngine.start(uow, [enrolmentId], new Date()),
  );
  await filo.services.sequenceEngine.tick(new Date());
  return { stepId, address };
}

const rowOf = async (stepId: string) =>
  (
    await db.query(
      `select status, transport, mailbox_id, message_id, last_response from bulk_sends where source_id = $1`,
      [stepId],
    )
  ).rows[0] as
    | { status: string; transport: string | null; mailbox_id: string; message_id: string; last_response: string | null }
    | undefined;

/** The Message-IDs in the account's Sent folder, as another mail program sees them. */
async function sentCopies(): Promise<{ messageId: string; seen: boolean }[]> {
  const client = await dovecot.client(imapUser);
  try {
    const lock = await client.getMailboxLock('Sent');
    try {
      const out: { messageId: string; seen: boolean }[] = [];
      if ((client.mailbox as { exists: number }).exists === 0) return out;
      for await (const m of client.fetch('1:*', { envelope: true, flags: true }))
        out.push({ messageId: m.envelope?.messageId ?? '', seen: Boolean(m.flags?.has('\\Seen')) });
      return out;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

describe('sequence mail through a member’s own account', () => {
  it('goes to the account’s SMTP server, logged in as its user, From and MAIL FROM its address, filed in its Sent folder, never to the relay', async () => {
    const mailboxId = await makeAccount('marta@rep.test', smtpPassword, false);
    const { stepId, address } = await sequenceWithProspect([mailboxId], 'Una domanda veloce');
    await expect.poll(async () => (await rowOf(stepId))?.status, { timeout: 30_000 }).toBe('sent');
    const row = (await rowOf(stepId))!;
    expect(row.mailbox_id).toBe(mailboxId);
    expect(row.transport).toBe('account');
    const got = smtp.received.filter((r) => r.rcpt.includes(address));
    expect(got).toHaveLength(1);
    expect(got[0]!.user).toBe(smtpUser);
    // The envelope sender is the account's own address (providers refuse another one).
    expect(got[0]!.mailFrom).toBe('marta@rep.test');
    expect(got[0]!.mail.from?.value[0]).toEqual({ address: 'marta@rep.test', name: 'Marta Rossi' });
    expect(got[0]!.mail.subject).toBe('Una domanda veloce');
    expect(got[0]!.mail.messageId).toBe(`<${row.message_id}>`);
    expect(got[0]!.mail.text).toMatch(/Hi Pat,/);
    expect(relay.messages.filter((m) => m.to.includes(address))).toHaveLength(0);
    // Filo files the copy in the account's Sent folder (this provider does not): the same message, seen.
    await expect
      .poll(() => sentCopies(), { timeout: 20_000 })
      .toContainEqual({ messageId: `<${row.message_id}>`, seen: true });
  });

  it('a login the account’s server refuses leaves the row to be tried again (not a bounce), and nothing goes to the relay', async () => {
    const mailboxId = await makeAccount('marta.old@rep.test', 'a-stale-password', true);
    const { stepId, address } = await sequenceWithProspect([mailboxId], 'Password scaduta');
    await expect.poll(async () => (await rowOf(stepId))?.status, { timeout: 30_000 }).toBe('deferred');
    const row = (await rowOf(stepId))!;
    expect(row.last_response).toMatch(/Username and Password not accepted/);
    expect(row.last_response).not.toContain('a-stale-password');
    expect(smtp.received.filter((r) => r.rcpt.includes(address))).toHaveLength(0);
    expect(relay.messages.filter((m) => m.to.includes(address))).toHaveLength(0);
    // The prospect's address is not suppressed for the account's own failure.
    const { rows } = await db.query(`select status from consents where lower(address) = $1`, [address]);
    expect(rows).toHaveLength(0);
  });
});
