import { randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAP_PASSWORD, SMTP_PASSWORD } from '../server/accounts/connect.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { asksToStop, ownWords, returnDate } from '../server/sequences/replies/reply-text.ts';
import { arfReport, postfixDsn, type SentHeaders } from './support/bulk-mail.ts';
import { startDovecot, type Dovecot, type DovecotUser } from './support/dovecot.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import type { BulkHandler } from '../server/delivery/bulk/engine.ts';
import type { FeedbackEvent } from '../server/delivery/bulk/feedback.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

// How sequences hear their prospects: replies through the gateway and an IMAP account, out-of-office, bounces,
// "remove me", our own copies, the warmup ramp and the domains' reputation (fake clock where time matters).

const SECRET_KEY = 'sequence-replies-test-secret-key-'.padEnd(64, 's');
const DOMAIN = 'demo.inbound.localhost';
const SELLER: DovecotUser = { user: 'seller@acme-seq.test', password: 'seller-right-horse' };

let filo: TestFilo;
let dovecot: Dovecot;
let sink: SmtpSink;
let demo: ApiClient;
let luca: ApiClient;
let db: pg.Client;
let tenantId: string;
let ownerId: string;
let mailboxId: string;

const ALWAYS = { start: '00:00', end: '00:00', days: [1, 2, 3, 4, 5, 6, 7], lunch: null };

/** A sequence of two email steps, in the tables as the API writes them. */
async function makeSequence(settings: Record<string, unknown> = {}) {
  const id = randomUUID();
  await db.query(
    `insert into sequences (id, tenant_id, name, status, owner_id, mailbox_ids, settings, created_by)
     values ($1, $2, $3, 'active', $4, $5, $6, $4)`,
    [
      id,
      tenantId,
      `Outreach ${id.slice(0, 6)}`,
      ownerId,
      JSON.stringify([mailboxId]),
      JSON.stringify({ window: ALWAYS, stopOnReply: true, excludeOpenDeals: false, trackOpens: true, ...settings }),
    ],
  );
  const steps = [randomUUID(), randomUUID()];
  for (const [i, sid] of steps.entries())
    await db.query(
      `insert into sequence_steps (id, tenant_id, sequence_id, position, kind, config) values ($1, $2, $3, $4, 'email', $5)`,
      [sid, tenantId, id, i, JSON.stringify({ kind: 'email', subject: `Step ${i}`, body: 'Hi', newThread: false })],
    );
  return { id, steps, name: `Outreach ${id.slice(0, 6)}` };
}

interface Prospect {
  contactId: string;
  email: string;
  enrolmentId: string;
  /** The first step, sent: its row, Message-ID and the headers it went out with. */
  sentId: string;
  messageId: string;
  sent: SentHeaders;
  /** The follow-up, queued at its booked slot. */
  queuedId: string;
}

/** A prospect enrolled, whose first step went out and whose follow-up is queued (the rows as the engine leaves them). */
async function prospect(seq: Awaited<ReturnType<typeof makeSequence>>): Promise<Prospect> {
  const contactId = randomUUID();
  const email = `p-${contactId.slice(0, 8)}@prospect.test`;
  await db.query(`insert into contacts (id, tenant_id, first_name, last_name, email) values ($1, $2, 'Pat', $3, $4)`, [
    contactId,
    tenantId,
    `N${contactId.slice(0, 4)}`,
    email,
  ]);
  const enrolmentId = randomUUID();
  await db.query(
    `insert into sequence_enrolments (id, tenant_id, sequence_id, contact_id, address, time_zone, time_zone_source, mailbox_id)
     values ($1, $2, $3, $4, $5, 'Europe/Rome', 'mailbox', $6)`,
    [enrolmentId, tenantId, seq.id, contactId, email, mailboxId],
  );
  const sentId = randomUUID();
  const queuedId = randomUUID();
  const messageId = `${randomUUID()}@${DOMAIN}`;
  await db.query(
    `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, message_id, sent_at, mailbox_id)
     values ($1, $2, 'sequence', $3, $4, $5, 'sent', $6, now(), $7)`,
    [sentId, tenantId, seq.steps[0], contactId, email, messageId, mailboxId],
  );
  await db.query(
    `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, message_id, next_attempt_at, mailbox_id)
     values ($1, $2, 'sequence', $3, $4, $5, 'pending', $6, now() + interval '2 days', $7)`,
    [queuedId, tenantId, seq.steps[1], contactId, email, `${randomUUID()}@${DOMAIN}`, mailboxId],
  );
  // on the follow-up, waiting for its queued send (next_run_at null), as the runner leaves it: the sweep skips it
  await db.query(`update sequence_enrolments set current_step_id = $2, next_run_at = null where id = $1`, [
    enrolmentId,
    seq.steps[1],
  ]);
  const bounce = filo.services.bulkTokens.sign({ sendId: sentId, kind: 'bounce', index: 0 });
  const sent: SentHeaders = { returnPath: `b+${bounce}@${DOMAIN}`, listUnsubscribe: null, messageId, to: email };
  return { contactId, email, enrolmentId, sentId, messageId, sent, queuedId };
}

/** Delivers one message to the gateway and waits until its row is processed: the row's classification. */
async function deliver(message: Mail.Options): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, ignoreTLS: true });
  try {
    const info = (await transport.sendMail(message)) as { response: string };
    const id = /queued as ([0-9a-f-]{36})/.exec(info.response)![1]!;
    const row = async () =>
      (await db.query(`select status, classification from inbound_messages where id = $1`, [id])).rows[0] as {
        status: string;
        classification: string;
      };
    await expect.poll(async () => (await row()).status, { timeout: 20_000, interval: 100 }).toBe('processed');
    return (await row()).classification;
  } finally {
    transport.close();
  }
}

const enrolment = async (id: string) =>
  (await db.query(`select * from sequence_enrolments where id = $1`, [id])).rows[0] as Record<string, unknown>;
const sendStatus = async (id: string) =>
  ((await db.query(`select status from bulk_sends where id = $1`, [id])).rows[0] as { status: string }).status;
const noticesOf = async (type: string) =>
  (await db.query(`select user_id, data from notifications where type = $1 order by created_at`, [type])).rows as {
    user_id: string;
    data: Record<string, unknown>;
  }[];
const adminIds = async () =>
  (
    await db.query(`select user_id from memberships where tenant_id = $1 and role in ('owner', 'admin')`, [tenantId])
  ).rows
    .map((r: { user_id: string }) => r.user_id)
    .sort();
const consents = async (address: string) =>
  (
    await db.query(`select status, source from consents where address_hash = $1 and list_id is null`, [
      filo.services.consent.hash('email', address),
    ])
  ).rows as { status: string; source: string }[];
const timeline = async (contactId: string, type: string) =>
  (
    await db.query(`select metadata from activities where entity_id = $1 and activity_type = $2`, [contactId, type])
  ).rows.map((r: { metadata: Record<string, unknown> }) => r.metadata);

beforeAll(async () => {
  sink = await startSmtpSink({ rules: [{ match: /^gone/, code: 550, message: '5.1.1 no such user here' }] });
  [filo, dovecot] = await Promise.all([
    startTestFilo({
      SECRET_KEY,
      SMTP_RELAY_URL: sink.url,
      BULK_RATE_PER_SECOND: '1000',
      SMTP_ALLOWED_HOSTS: '127.0.0.1',
      ACCOUNT_SYNC_POLL_MS: '200',
      ACCOUNT_FOLDER_POLL_SECONDS: '1',
    }),
    startDovecot([SELLER]),
  ]);
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }));
  await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  tenantId = (await db.query(`select id from tenants where slug = 'demo'`)).rows[0].id;
  ownerId = (await db.query(`select id from users where email = 'demo@filo.local'`)).rows[0].id;
  // the sequences' sending mailbox: a member's account at the seller's own domain
  mailboxId = randomUUID();
  await db.query(
    `insert into mailboxes (id, tenant_id, name, local_part, kind, private, member_ids, address)
     values ($1, $2, 'Seller', 'seller-acct', 'account', true, array[$3::text], $4)`,
    [mailboxId, tenantId, ownerId, SELLER.user],
  );
}, 60_000);
afterAll(async () => {
  await db?.end();
  await filo?.close();
  await dovecot?.stop();
  await sink?.close();
});

describe('a reply through the gateway', { timeout: 60_000 }, () => {
  it('stops the pending steps, marks the enrolment replied, writes the timeline and tells the owner', async () => {
    const seq = await makeSequence();
    const p = await prospect(seq);
    const bystander = await prospect(seq);
    const kind = await deliver({
      from: p.email,
      to: `support@${DOMAIN}`,
      subject: 'Re: Step 0',
      text: 'Sounds interesting, can we talk on Tuesday?\n\nOn Mon, Dec 7, 2026 Seller wrote:\n> Hi',
      inReplyTo: `<${p.messageId}>`,
      references: [`<${p.messageId}>`],
    });
    expect(kind).toBe('message');
    expect(await sendStatus(p.queuedId)).toBe('cancelled');
    const e = await enrolment(p.enrolmentId);
    expect(e).toMatchObject({ status: 'stopped', stop_reason: 'replied' });
    expect(e.replied_at).not.toBeNull();
    expect(await timeline(p.contactId, 'sequence.stopped')).toEqual([
      expect.objectContaining({ enrolmentId: p.enrolmentId, reason: 'replied' }),
    ]);
    const notices = (await noticesOf('sequence_reply')).filter((n) => n.data.enrolmentId === p.enrolmentId);
    expect(notices).toEqual([
      { user_id: ownerId, data: expect.objectContaining({ sequenceId: seq.id, sequenceName: seq.name }) },
    ]);
    // a reply that does not ask to stop suppresses nothing; the other prospect goes on
    expect(await consents(p.email)).toEqual([]);
    expect(await sendStatus(bystander.queuedId)).toBe('pending');
    expect(await enrolment(bystander.enrolmentId)).toMatchObject({ status: 'active', replied_at: null });
  });

  it('an out-of-office does not stop: it holds the next step until the return date it names', async () => {
    const seq = await makeSequence();
    const p = await prospect(seq);
    // waiting on a step (a wait or a condition): next_run_at set
    const due = new Date(Date.now() + 3_600_000);
    await db.query(`update sequence_enrolments set next_run_at = $2 where id = $1`, [p.enrolmentId, due]);
    const back = new Date(Date.now() + 10 * 86_400_000);
    const backText = `${back.getUTCDate()}/${back.getUTCMonth() + 1}/${back.getUTCFullYear()}`;
    const kind = await deliver({
      from: p.email,
      to: `support@${DOMAIN}`,
      subject: 'Automatic reply: Step 0',
      text: `I am out of the office and back on ${backText}.`,
      inReplyTo: `<${p.messageId}>`,
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    expect(kind).toBe('auto_reply');
    const e = await enrolment(p.enrolmentId);
    expect(e).toMatchObject({ status: 'active', stop_reason: null, replied_at: null });
    expect((e.next_run_at as Date).toISOString()).toBe(
      new Date(Date.UTC(back.getUTCFullYear(), back.getUTCMonth(), back.getUTCDate())).toISOString(),
    );
    expect(await sendStatus(p.queuedId)).toBe('pending');
    // one to the VERP return path (RFC 3834) without a date: a few days
    const p2 = await prospect(seq);
    await db.query(`update sequence_enrolments set next_run_at = $2 where id = $1`, [p2.enrolmentId, due]);
    await deliver({
      envelope: { from: '', to: p2.sent.returnPath! },
      from: p2.email,
      to: p2.sent.returnPath!,
      subject: 'Out of office',
      text: 'I am travelling with limited access to mail.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    const e2 = await enrolment(p2.enrolmentId);
    expect(e2.status).toBe('active');
    expect((e2.next_run_at as Date).getTime()).toBeGreaterThan(Date.now() + 2.5 * 86_400_000);
    expect((await noticesOf('sequence_reply')).some((n) => n.data.enrolmentId === p2.enrolmentId)).toBe(false);
  });

  it('a DSN bounce stops with "bounced" and marks the contact', async () => {
    const seq = await makeSequence();
    const p = await prospect(seq);
    const kind = await deliver({
      envelope: { from: '', to: p.sent.returnPath! },
      raw: postfixDsn({ to: p.sent.returnPath!, recipient: p.email, sent: p.sent }),
    });
    expect(kind).toBe('bounce');
    expect(await enrolment(p.enrolmentId)).toMatchObject({ status: 'stopped', stop_reason: 'bounced' });
    expect(await sendStatus(p.queuedId)).toBe('cancelled');
    const contact = (await db.query(`select email_bounced_at from contacts where id = $1`, [p.contactId])).rows[0];
    expect(contact.email_bounced_at).not.toBeNull();
    expect(await consents(p.email)).toEqual([{ status: 'bounced', source: 'bounce' }]);
  });

  it('a spam complaint stops with "complained" and a one-click unsubscribe with "unsubscribed"', async () => {
    const seq = await makeSequence();
    const complainer = await prospect(seq);
    const kind = await deliver({
      from: 'fbl@isp.example',
      to: `support@${DOMAIN}`,
      raw: arfReport('gmail', { to: `support@${DOMAIN}`, sent: complainer.sent }),
    });
    expect(kind).toBe('auto_reply');
    expect(await enrolment(complainer.enrolmentId)).toMatchObject({ status: 'stopped', stop_reason: 'complained' });
    expect(await sendStatus(complainer.queuedId)).toBe('cancelled');
    expect(await consents(complainer.email)).toEqual([{ status: 'complained', source: 'complaint' }]);

    const leaver = await prospect(seq);
    const token = filo.services.bulkTokens.sign({ sendId: leaver.sentId, kind: 'unsubscribe', index: 0 });
    const res = await fetch(`${filo.baseUrl}/u/${token}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Gmail one-click' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    expect(await enrolment(leaver.enrolmentId)).toMatchObject({ status: 'stopped', stop_reason: 'unsubscribed' });
    expect(await sendStatus(leaver.queuedId)).toBe('cancelled');
  });

  it('"please remove me" (or "cancellatemi") stops and suppresses the address', async () => {
    const seq = await makeSequence();
    for (const text of ['Please remove me from your list.', 'Cancellatemi dalla vostra lista, grazie.']) {
      const p = await prospect(seq);
      await deliver({
        from: p.email,
        to: `support@${DOMAIN}`,
        subject: 'Re: Step 0',
        text,
        inReplyTo: `<${p.messageId}>`,
      });
      expect(await enrolment(p.enrolmentId)).toMatchObject({ status: 'stopped', stop_reason: 'replied' });
      expect(await consents(p.email)).toEqual([{ status: 'unsubscribed', source: 'stop' }]);
    }
  });

  it('our own copy (a Bcc to self of a follow-up) is no reply', async () => {
    const seq = await makeSequence();
    const p = await prospect(seq);
    const followUpId = `${randomUUID()}@${DOMAIN}`;
    await db.query(`update bulk_sends set message_id = $2 where id = $1`, [p.queuedId, followUpId]);
    await deliver({
      from: SELLER.user,
      to: p.email,
      bcc: `support@${DOMAIN}`,
      envelope: { from: SELLER.user, to: `support@${DOMAIN}` },
      subject: 'Re: Step 0',
      text: 'Just following up on my last mail.',
      messageId: `<${followUpId}>`,
      inReplyTo: `<${p.messageId}>`,
      references: [`<${p.messageId}>`],
    });
    expect(await enrolment(p.enrolmentId)).toMatchObject({ status: 'active', replied_at: null });
    expect((await db.query(`select replied_at from bulk_sends where id = $1`, [p.sentId])).rows[0].replied_at).toBe(
      null,
    );
  });
});

describe('a refusal at send time', { timeout: 60_000 }, () => {
  it("is a bounce the source's listener hears; for a sequence it stops and marks the contact", async () => {
    // the engine's outcome path, heard by a listener of a source of this test's own
    const heard: FeedbackEvent[] = [];
    const plain: BulkHandler = {
      source: 'bulk_message',
      scope: async () => ({
        state: 'active',
        listIds: [],
        requireConfirmed: false,
        mailboxId: null,
        trackOpens: false,
        trackClicks: false,
      }),
      compose: async (_t, _s, rows) =>
        new Map(
          rows.map((r) => [
            r.id,
            { from: { address: `news@${DOMAIN}` }, subject: 'Hi', html: '<p>Hi</p>', text: 'Hi' },
          ]),
        ),
    };
    filo.services.bulk.register(plain);
    filo.services.bulk.onFeedback('bulk_message', async (_uow, e) => void heard.push(e));
    const sourceId = randomUUID();
    await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
      await filo.services.bulk.enqueue(uow, {
        source: 'bulk_message',
        sourceId,
        select: {
          sql: `select null::uuid as contact_id, a as address from jsonb_array_elements_text(?::jsonb) a`,
          params: [JSON.stringify(['gone@rcpt.test', 'fine@rcpt.test'])],
        },
      });
      await filo.services.bulk.start(uow, 'bulk_message', sourceId);
    });
    await expect.poll(() => heard.length, { timeout: 30_000, interval: 100 }).toBe(1);
    expect(heard[0]).toMatchObject({
      kind: 'bounced',
      atSend: true,
      source: 'bulk_message',
      address: 'gone@rcpt.test',
    });

    // a sequence's send refused for its address (the engine suppressed it): stopped, the contact marked bouncing
    const seq = await makeSequence();
    const p = await prospect(seq);
    await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
      await filo.services.consent.set(uow, {
        channel: 'email',
        address: p.email,
        listId: null,
        status: 'bounced',
        source: 'bounce',
        contactId: p.contactId,
      });
      await filo.services.sequenceReplies.handle(
        uow,
        {
          kind: 'bounced',
          sendId: p.sentId,
          source: 'sequence',
          sourceId: seq.steps[0]!,
          contactId: p.contactId,
          address: p.email,
          atSend: true,
        },
        new Date(),
      );
    });
    expect(await enrolment(p.enrolmentId)).toMatchObject({ status: 'stopped', stop_reason: 'bounced' });
    const contact = (await db.query(`select email_bounced_at from contacts where id = $1`, [p.contactId])).rows[0];
    expect(contact.email_bounced_at).not.toBeNull();
  });
});

describe('an IMAP account syncing its Sent folder', { timeout: 60_000 }, () => {
  it('never counts the Sent copy of a follow-up as a reply, and does count the prospect reply in INBOX', async () => {
    const seq = await makeSequence();
    const quiet = await prospect(seq);
    const replying = await prospect(seq);
    const client = await dovecot.client(SELLER);
    const raw = (o: { from: string; to: string; subject: string; id: string; inReplyTo: string; text: string }) =>
      [
        `From: ${o.from}`,
        `To: ${o.to}`,
        `Subject: ${o.subject}`,
        `Message-ID: <${o.id}>`,
        `In-Reply-To: <${o.inReplyTo}>`,
        `References: <${o.inReplyTo}>`,
        `Date: ${new Date().toUTCString()}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        o.text,
        '',
      ].join('\r\n');
    const sentCopy = `${randomUUID()}@${DOMAIN}`;
    await client.append(
      'Sent',
      raw({
        from: SELLER.user,
        to: quiet.email,
        subject: 'Re: Step 0',
        id: sentCopy,
        inReplyTo: quiet.messageId,
        text: 'Following up.',
      }),
      ['\\Seen'],
    );
    const replyId = `${randomUUID()}@prospect.test`;
    await client.append(
      'INBOX',
      raw({
        from: replying.email,
        to: SELLER.user,
        subject: 'Re: Step 0',
        id: replyId,
        inReplyTo: replying.messageId,
        text: 'Yes, call me.',
      }),
      [],
    );
    await client.logout();
    const secrets = new Secrets(SECRET_KEY);
    const accountId = randomUUID();
    await db.query(
      `insert into email_accounts (id, tenant_id, mailbox_id, owner_id, email, imap_host, imap_port, imap_security,
         imap_user, imap_password_enc, smtp_host, smtp_port, smtp_security, smtp_user, smtp_password_enc)
       values ($1, $2, $3, $4, $5, '127.0.0.1', $6, 'none', $5, $7, '127.0.0.1', 25, 'none', $5, $8)`,
      [
        accountId,
        tenantId,
        mailboxId,
        ownerId,
        SELLER.user,
        dovecot.port,
        secrets.encrypt(SELLER.password, IMAP_PASSWORD),
        secrets.encrypt('smtp', SMTP_PASSWORD),
      ],
    );
    const processedIds = async () =>
      (
        await db.query(
          `select message_id_header from inbound_messages where account_id = $1 and status = 'processed'`,
          [accountId],
        )
      ).rows.map((r: { message_id_header: string }) => r.message_id_header);
    await expect
      .poll(processedIds, { timeout: 40_000, interval: 200 })
      .toEqual(expect.arrayContaining([sentCopy, replyId]));
    expect(await enrolment(quiet.enrolmentId)).toMatchObject({ status: 'active', replied_at: null });
    expect(await sendStatus(quiet.queuedId)).toBe('pending');
    expect(await enrolment(replying.enrolmentId)).toMatchObject({ status: 'stopped', stop_reason: 'replied' });
  });
});

describe('warmup and domain reputation', { timeout: 60_000 }, () => {
  const now = new Date('2027-01-20T06:00:00Z');
  /** `n` sequence sends of a mailbox at `at`, the first `bounced` bounced and the next `complained` complained. */
  async function sends(box: string, n: number, at: Date, bad: { bounced?: number; complained?: number } = {}) {
    const b = bad.bounced ?? 0;
    const c = bad.complained ?? 0;
    await db.query(
      `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, message_id, sent_at,
                               bounced_at, complained_at, mailbox_id)
       select gen_random_uuid(), $1, 'sequence', gen_random_uuid(), null, 'x' || i || '-' || $2::text || '@r.test',
              case when i <= $4 then 'bounced' else 'sent' end, gen_random_uuid()::text, $3,
              case when i <= $4 then $3::timestamptz end, case when i > $4 and i <= $4 + $5 then $3::timestamptz end, $2::uuid
         from generate_series(1, $6) i`,
      [tenantId, box, at, b, c, n],
    );
  }
  async function sendingMailbox(address: string, warmup: { currentCap: number } | null) {
    const id = randomUUID();
    await db.query(`insert into mailboxes (id, tenant_id, name, local_part, address) values ($1, $2, $3, $4, $5)`, [
      id,
      tenantId,
      address,
      `box-${id.slice(0, 8)}`,
      address,
    ]);
    await db.query(
      `insert into sequence_mailboxes (mailbox_id, tenant_id, daily_cap, workday, warmup_enabled, warmup_start_cap,
                                       warmup_increment, current_cap)
       values ($1, $2, 40, $3, $4, 5, 5, $5)`,
      [id, tenantId, JSON.stringify(ALWAYS), Boolean(warmup), warmup?.currentCap ?? null],
    );
    return id;
  }
  const box = async (id: string) =>
    (await db.query(`select current_cap, paused_at, pause_reason from sequence_mailboxes where mailbox_id = $1`, [id]))
      .rows[0] as { current_cap: number; paused_at: Date | null; pause_reason: string | null };

  it('raises a clean warming mailbox once a day up to its cap, pauses a bouncing one and tells its owners', async () => {
    const clean = await sendingMailbox('ramp@warm.test', { currentCap: 10 });
    const full = await sendingMailbox('full@warm.test', { currentCap: 38 });
    const bouncing = await sendingMailbox('bounce@warm.test', { currentCap: 10 });
    const yesterday = new Date(now.getTime() - 5 * 3_600_000);
    await sends(clean, 30, yesterday, { bounced: 1 });
    await sends(full, 10, yesterday);
    await sends(bouncing, 25, yesterday, { bounced: 2 });
    const before = (await noticesOf('sending_paused')).length;
    const run = await filo.services.sequenceWarmup.run(now);
    expect(run).toMatchObject({ raised: 2, paused: 1 });
    expect(await box(clean)).toMatchObject({ current_cap: 15, paused_at: null });
    expect(await box(full)).toMatchObject({ current_cap: 40 });
    const paused = await box(bouncing);
    expect(paused.current_cap).toBe(10);
    expect(paused.paused_at).not.toBeNull();
    expect(paused.pause_reason).toContain('bounce rate 8 %');
    const notices = (await noticesOf('sending_paused')).slice(before);
    // the workspace's owner and admins, once each
    const admins = await adminIds();
    expect(admins).toContain(ownerId);
    expect(notices.map((n) => n.user_id).sort()).toEqual(admins);
    expect(new Set(notices.map((n) => n.data.target))).toEqual(new Set(['bounce@warm.test']));
    // the same day again: no second raise, no second notice
    await filo.services.sequenceWarmup.run(new Date(now.getTime() + 3_600_000));
    expect((await box(clean)).current_cap).toBe(15);
    expect((await noticesOf('sending_paused')).slice(before)).toHaveLength(admins.length);
    // the next day after more clean sending: up again
    await sends(clean, 5, new Date(now.getTime() + 20 * 3_600_000));
    await filo.services.sequenceWarmup.run(new Date(now.getTime() + 24 * 3_600_000));
    expect((await box(clean)).current_cap).toBe(20);
    // resumed by hand: the bounces it was paused for are judged already, only new sends count
    await db.query(`update sequence_mailboxes set paused_at = null, pause_reason = null where mailbox_id = $1`, [
      bouncing,
    ]);
    await sends(bouncing, 3, new Date(now.getTime() + 40 * 3_600_000));
    await filo.services.sequenceWarmup.run(new Date(now.getTime() + 48 * 3_600_000));
    expect(await box(bouncing)).toMatchObject({ current_cap: 15, paused_at: null });
  });

  it('pauses a domain at 0.3 % complaints, never below the minimum volume; lists and resumes it', async () => {
    const small = await sendingMailbox('a@small.test', null);
    const big = await sendingMailbox('b@big.test', null);
    const fine = await sendingMailbox('c@fine.test', null);
    // the API reads the real clock: these sends are two days old
    const day = new Date(Date.now() - 2 * 86_400_000);
    await sends(small, 40, day, { complained: 1 });
    await sends(fine, 400, day, { complained: 1 });
    await sends(big, 250, day);
    const check = () =>
      inTenant(filo.orm, systemActor(tenantId), (uow) => filo.services.sequenceReputation.check(uow, new Date()));
    expect(await check()).toEqual([]);
    await sends(big, 49, day);
    await sends(big, 1, day, { complained: 1 });
    expect(await check()).toEqual(['big.test']);
    expect(await check()).toEqual([]);
    const notices = (await noticesOf('sending_paused')).filter((n) => n.data.target === 'big.test');
    expect(notices.map((n) => n.user_id).sort()).toEqual(await adminIds());
    expect(String(notices[0]!.data.reason)).toContain('complaint rate 0.33 %');

    // the API: GET (not taken for a sequence id), rates over 7 and 30 days; resume by owners and admins only
    const list = await luca.json<{ items: Record<string, unknown>[] }>('GET', '/api/sequences/reputation');
    const big7 = list.items.find((d) => d.domain === 'big.test')!;
    expect(big7).toMatchObject({ last7: { sent: 300, complaintRate: 0.00333 }, last30: { sent: 300 } });
    expect(big7.pausedAt).toBeTruthy();
    expect(list.items.find((d) => d.domain === 'small.test')).toMatchObject({ pausedAt: null, last7: { sent: 40 } });
    const forbidden = await luca.call('POST', '/api/sequences/reputation/big.test/resume');
    expect(forbidden.status).toBe(403);
    expect((await demo.call('POST', '/api/sequences/reputation/not_a%20domain/resume')).status).toBe(400);
    expect((await demo.call('POST', '/api/sequences/reputation/fine.test/resume')).status).toBe(404);
    expect(await demo.json('POST', '/api/sequences/reputation/big.test/resume', undefined, 200)).toEqual({
      domain: 'big.test',
      resumed: true,
    });
    // resumed: the old complaint does not pause it again
    expect(await check()).toEqual([]);
    const after = await demo.json<{ items: Record<string, unknown>[] }>('GET', '/api/sequences/reputation');
    expect(after.items.find((d) => d.domain === 'big.test')).toMatchObject({ pausedAt: null });
  });
});

describe('reading a reply', () => {
  it('reads only the reply own words, stop phrases in two languages, and return dates', () => {
    expect(ownWords('Thanks!\n\nOn Mon, Dec 7, 2026 at 9:00 Seller wrote:\n> unsubscribe here')).toBe('Thanks!');
    expect(asksToStop({ subject: 'Re: Hello', text: 'Thanks!\n> To unsubscribe click here' })).toBe(false);
    expect(asksToStop({ subject: 'Re: Hello', text: 'STOP' })).toBe(true);
    expect(asksToStop({ subject: 'Re: Hello', text: 'Please stop emailing me.' })).toBe(true);
    expect(asksToStop({ subject: 'Re: Hello', text: 'Non contattatemi più.' })).toBe(true);
    expect(asksToStop({ subject: 'Re: Hello', text: 'We stop at nothing to help.' })).toBe(false);
    const t = new Date('2026-12-07T10:00:00Z');
    expect(returnDate({ subject: 'Out of office', text: 'Back on 14 December' }, t)?.toISOString()).toBe(
      '2026-12-14T00:00:00.000Z',
    );
    expect(returnDate({ subject: 'Fuori ufficio', text: 'Rientro il 7 gennaio' }, t)?.toISOString()).toBe(
      '2027-01-07T00:00:00.000Z',
    );
    expect(returnDate({ subject: 'OOO', text: 'Away from 2026-12-10 to 2026-12-18' }, t)?.toISOString()).toBe(
      '2026-12-18T00:00:00.000Z',
    );
    expect(returnDate({ subject: 'OOO', text: 'I am travelling' }, t)).toBeNull();
  });
});
