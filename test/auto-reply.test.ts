import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outsideHours } from '../server/inbox/rules.service.ts';
import { apiClient, body, login, signUp, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * Auto-reply rules per mailbox: a rule answers a customer once per 24 h (the reply reaches the customer's server,
 * a second smtp-server here, with Auto-Submitted), never a bounce, an auto-reply or list mail; assign, tag and
 * status actions; validation of the rules.
 */

interface Received {
  mail: ParsedMail;
  rcpt: string[];
}

const received: Received[] = [];
let customer: SMTPServer;
let filo: TestFilo;
let demo: ApiClient;
let help: { id: string; inboundAddress: string };
let sales: { id: string; inboundAddress: string };
let template: { id: string };
let mario: { userId: string };

beforeAll(async () => {
  customer = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, cb) {
      void simpleParser(stream).then((mail) => {
        received.push({ mail, rcpt: session.envelope.rcptTo.map((r) => r.address) });
        cb();
      }, cb);
    },
  });
  await new Promise<void>((resolve) => customer.listen(0, '127.0.0.1', resolve));
  const port = (customer.server.address() as AddressInfo).port;
  filo = await startTestFilo({ SMTP_RELAY_URL: `smtp://127.0.0.1:${port}`, OUTBOUND_RETRY_DELAY: '1' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  help = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Help', localPart: 'help' });
  sales = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Sales', localPart: 'sales' });
  template = await demo.json('POST', '/api/inbox/templates', {
    name: 'Closed',
    body: 'Hi {{contact.first_name | "there"}}, we are closed now: we answer tomorrow.',
  });
  mario = (await demo.json('GET', '/api/team/members')).items.find(
    (m: { email: string }) => m.email === 'mario@filo.local',
  );
});
afterAll(async () => {
  await filo?.close();
  await new Promise<void>((resolve) => (customer ? customer.close(() => resolve()) : resolve()));
});

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: filo.databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

let delivered = 0;
/** Sends mail to Filo's gateway as the customer's server would (a raw message or nodemailer options). */
async function deliver(message: Mail.Options) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: filo.smtpPort!,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail(message);
    delivered += 1;
  } finally {
    transport.close();
  }
}

/**
 * Every message delivered so far is processed and its job (processing, then the rules) has finished: whatever
 * the rules were going to do is done, and an auto-reply would be stored as an outbound message by now.
 */
async function settled() {
  await expect
    .poll(
      async () => {
        const [row] = await query<{ done: number; pending: number }>(
          `select (select count(*)::int from inbound_messages where status = 'processed') as done,
                  (select count(*)::int from pgboss.job where name = 'inbound.process'
                      and state not in ('completed', 'failed', 'cancelled')) as pending`,
        );
        return row!.done === delivered && row!.pending === 0;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(true);
}

interface ConversationRow {
  id: string;
  subject: string;
  status: string;
  assigneeId: string | null;
  tags: string[];
}
async function conversation(subject: string): Promise<ConversationRow> {
  let found: ConversationRow | undefined;
  await expect
    .poll(
      async () => {
        const page = await demo.json('GET', '/api/inbox/conversations?limit=100');
        found = page.items.find((c: ConversationRow) => c.subject === subject);
        return Boolean(found);
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(true);
  return found!;
}

/** Outbound messages Filo wrote with this subject (queued or sent). */
const outbound = async (subject: string) =>
  (
    await query<{ n: number }>(
      `select count(*)::int as n from messages where direction = 'outbound' and subject = $1`,
      [subject],
    )
  )[0]!.n;

/** Hours 12 hours away from now, every day: now is outside them. */
function closedNow() {
  const h = (new Date().getUTCHours() + 12) % 24;
  const hh = String(h).padStart(2, '0');
  const day = { open: `${hh}:00`, close: `${hh}:59` };
  return {
    timeZone: 'UTC',
    days: { mon: day, tue: day, wed: day, thu: day, fri: day, sat: day, sun: day },
  };
}

describe('business hours', () => {
  it('are read in their time zone, per weekday', () => {
    // Monday 30 November 2026, 08:30 UTC = 09:30 in Rome.
    const at = new Date('2026-11-30T08:30:00Z');
    const rome = { timeZone: 'Europe/Rome', days: { mon: { open: '09:00', close: '18:00' } } };
    expect(outsideHours(rome, at)).toBe(false);
    expect(outsideHours({ ...rome, timeZone: 'UTC' }, at)).toBe(true);
    expect(outsideHours({ ...rome, timeZone: 'America/New_York' }, at)).toBe(true);
    // Tuesday has no hours: closed all day.
    expect(outsideHours(rome, new Date('2026-12-01T10:00:00Z'))).toBe(true);
    expect(outsideHours(closedNow(), new Date())).toBe(true);
  });
});

describe('auto-reply rules', () => {
  it('answer a customer outside business hours once in 24 h, with Auto-Submitted, and tag the conversation', async () => {
    const rule = await demo.json('POST', `/api/inbox/mailboxes/${help.id}/rules`, {
      name: 'Out of hours',
      conditions: { outsideHours: closedNow() },
      actions: { autoReplyTemplateId: template.id, tags: ['After hours'] },
    });
    expect(rule).toMatchObject({ name: 'Out of hours', enabled: true, position: 0 });
    expect((await demo.json('GET', `/api/inbox/mailboxes/${help.id}/rules`)).items).toHaveLength(1);

    await deliver({
      from: '"Giulia Verdi" <giulia@cliente.test>',
      to: help.inboundAddress,
      subject: 'Orari di apertura?',
      text: 'Siete aperti domani?',
      messageId: '<hours-1@cliente.test>',
    });
    await expect
      .poll(() => received.some((r) => r.mail.subject === 'Re: Orari di apertura?'), { timeout: 20_000, interval: 100 })
      .toBe(true);
    const reply = received.find((r) => r.mail.subject === 'Re: Orari di apertura?')!;
    expect(reply.rcpt).toEqual(['giulia@cliente.test']);
    expect(reply.mail.headers.get('auto-submitted')).toBe('auto-replied');
    expect(reply.mail.inReplyTo).toBe('<hours-1@cliente.test>');
    expect(reply.mail.text).toContain('Hi Giulia, we are closed now');
    // Stored in the conversation as sent by nobody (the rule), once.
    await expect
      .poll(
        async () =>
          await query<{ status: string; sent_by: string | null }>(
            `select status, sent_by from messages where direction = 'outbound' and subject = $1`,
            ['Re: Orari di apertura?'],
          ),
        { timeout: 20_000, interval: 100 },
      )
      .toEqual([{ status: 'sent', sent_by: null }]);
    const first = await conversation('Orari di apertura?');
    expect(first.tags).toEqual(['after-hours']);

    // A second message from her within 24 h: tagged again, not answered again.
    await deliver({
      from: '"Giulia Verdi" <giulia@cliente.test>',
      to: help.inboundAddress,
      subject: 'Ancora una domanda',
      text: 'E sabato?',
      messageId: '<hours-2@cliente.test>',
    });
    await settled();
    expect((await conversation('Ancora una domanda')).tags).toEqual(['after-hours']);
    expect(await outbound('Re: Ancora una domanda')).toBe(0);
    expect(await outbound('Re: Orari di apertura?')).toBe(1);
    const sent = await query<{ sender: string }>(`select sender from auto_replies_sent where mailbox_id = $1`, [
      help.id,
    ]);
    expect(sent).toEqual([{ sender: 'giulia@cliente.test' }]);

    // Another customer is answered: the limit is per sender.
    await deliver({
      from: 'paolo@altro.test',
      to: help.inboundAddress,
      subject: 'Prezzi',
      text: 'Quanto costa?',
      messageId: '<hours-3@altro.test>',
    });
    await expect
      .poll(() => received.some((r) => r.mail.subject === 'Re: Prezzi'), { timeout: 20_000, interval: 100 })
      .toBe(true);
    expect(received.find((r) => r.mail.subject === 'Re: Prezzi')!.mail.text).toContain('Hi Paolo, we are closed');
  });

  it('never answer a bounce, an auto-reply, list mail or our own address', async () => {
    const before = received.length;
    const dsn = [
      'From: MAILER-DAEMON@mx.cliente.test',
      `To: ${help.inboundAddress}`,
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <dsn-9@mx.cliente.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--b1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.cliente.test',
      '',
      'Final-Recipient: rfc822; nobody@cliente.test',
      'Action: failed',
      'Status: 5.1.1',
      '',
      '--b1--',
      '',
    ].join('\r\n');
    await deliver({ envelope: { from: '', to: help.inboundAddress }, raw: dsn });
    await deliver({
      from: 'robot@robots.test',
      to: help.inboundAddress,
      subject: 'I am away',
      text: 'Back on Monday.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    await deliver({
      from: 'news@lists.test',
      to: help.inboundAddress,
      subject: 'Weekly news',
      text: 'All the news.',
      headers: { 'List-Id': '<weekly.lists.test>' },
    });
    await deliver({
      from: `Help <${help.inboundAddress}>`,
      to: help.inboundAddress,
      subject: 'Loop?',
      text: 'From ourselves.',
    });
    // Mail written days ago (a mailbox's history read by its first sync, a long-delayed message): too late to answer.
    await deliver({
      from: 'Anna <anna@old-customer.test>',
      to: help.inboundAddress,
      subject: 'Old question',
      text: 'Asked last week.',
      date: new Date(Date.now() - 3 * 86_400_000),
    });
    await settled();
    const kinds = await query<{ classification: string }>(
      `select classification from inbound_messages where mailbox_id = $1 order by created_at desc limit 5`,
      [help.id],
    );
    expect(kinds.map((k) => k.classification).sort()).toEqual([
      'auto_reply',
      'auto_reply',
      'bounce',
      'message',
      'message',
    ]);
    expect((await conversation('Old question')).tags).toEqual(['after-hours']);
    for (const subject of ['Undelivered Mail Returned to Sender', 'I am away', 'Weekly news', 'Loop?', 'Old question'])
      expect(`${subject}: ${await outbound(`Re: ${subject}`)}`).toBe(`${subject}: 0`);
    // The message from our own address was still a customer message to the rules (tagged), only not answered.
    expect((await conversation('Loop?')).tags).toEqual(['after-hours']);
    expect(received.length).toBe(before);
  });

  it('assign, tag and set the status; disabled rules and unmatched mail do nothing', async () => {
    await demo.json('POST', `/api/inbox/mailboxes/${sales.id}/rules`, {
      name: 'Invoices from Acme',
      conditions: { from: ['acme.example'], subjectContains: ['invoice'] },
      actions: { assigneeId: mario.userId, status: 'pending', tags: ['billing'] },
    });
    const disabled = await demo.json('POST', `/api/inbox/mailboxes/${sales.id}/rules`, {
      name: 'Everything',
      actions: { tags: ['never'] },
    });
    expect(disabled.position).toBe(1);
    const off = await demo.json('PATCH', `/api/inbox/mailboxes/${sales.id}/rules/${disabled.id}`, { enabled: false });
    expect(off).toMatchObject({ enabled: false, version: 2 });

    await deliver({ from: 'bob@billing.acme.example', to: sales.inboundAddress, subject: 'Invoice 42', text: 'Pay.' });
    await deliver({ from: 'bob@billing.acme.example', to: sales.inboundAddress, subject: 'Hello', text: 'Hi.' });
    await deliver({ from: 'eve@other.example', to: sales.inboundAddress, subject: 'My invoice', text: 'Hi.' });
    await settled();
    expect(await conversation('Invoice 42')).toMatchObject({
      assigneeId: mario.userId,
      status: 'pending',
      tags: ['billing'],
    });
    for (const subject of ['Hello', 'My invoice'])
      expect(await conversation(subject)).toMatchObject({ assigneeId: null, status: 'open', tags: [] });
    const timeline = await demo.json('GET', `/api/inbox/conversations/${(await conversation('Invoice 42')).id}`);
    expect(timeline.assigneeId).toBe(mario.userId);

    await demo.json('DELETE', `/api/inbox/mailboxes/${sales.id}/rules/${disabled.id}`);
    const rules = (await demo.json('GET', `/api/inbox/mailboxes/${sales.id}/rules`)).items;
    expect(rules.map((r: { name: string }) => r.name)).toEqual(['Invoices from Acme']);
  });

  it('refuse a bad time zone, an unknown template and a member of another workspace with 400 and the field', async () => {
    const cases: [unknown, string][] = [
      [
        {
          name: 'Bad zone',
          conditions: { outsideHours: { timeZone: 'Mars/Olympus_Mons', days: {} } },
          actions: { tags: ['x'] },
        },
        'conditions.outsideHours.timeZone',
      ],
      [
        {
          name: 'Bad hours',
          conditions: { outsideHours: { timeZone: 'UTC', days: { mon: { open: '18:00', close: '09:00' } } } },
          actions: { tags: ['x'] },
        },
        'conditions.outsideHours.days.mon.close',
      ],
      [
        { name: 'Bad template', actions: { autoReplyTemplateId: '00000000-0000-4000-8000-000000000001' } },
        'actions.autoReplyTemplateId',
      ],
      [{ name: 'Nothing to do', actions: {} }, 'actions'],
    ];
    const other = apiClient(
      filo.baseUrl,
      await signUp(filo, {
        workspace: 'Elsewhere',
        name: 'Else Owner',
        email: 'owner@elsewhere.example',
        password: 'correct horse battery',
      }),
    );
    const stranger = (await other.json('GET', '/api/team/members')).items[0] as { userId: string };
    cases.push([{ name: 'Stranger', actions: { assigneeId: stranger.userId } }, 'actions.assigneeId']);
    // Their template is unknown here too.
    const theirs = await other.json('POST', '/api/inbox/templates', { name: 'Theirs', body: 'Hi' });
    cases.push([
      { name: 'Their template', actions: { autoReplyTemplateId: theirs.id } },
      'actions.autoReplyTemplateId',
    ]);

    for (const [payload, field] of cases) {
      const r = await demo.call('POST', `/api/inbox/mailboxes/${help.id}/rules`, payload);
      const error = (await body(r)).error;
      expect(`${r.status} ${error.code} ${Object.keys(error.fields ?? {}).join(',')}`).toBe(
        `400 validation_failed ${field}`,
      );
    }
    // And on a change.
    const [rule] = (await demo.json('GET', `/api/inbox/mailboxes/${help.id}/rules`)).items;
    const bad = await demo.call('PATCH', `/api/inbox/mailboxes/${help.id}/rules/${rule.id}`, {
      actions: { assigneeId: stranger.userId },
    });
    expect(bad.status).toBe(400);
    expect((await body(bad)).error.fields).toHaveProperty(['actions.assigneeId']);
    // Another workspace does not see the rules.
    expect((await other.call('GET', `/api/inbox/mailboxes/${help.id}/rules`)).status).toBe(404);
  });
});
