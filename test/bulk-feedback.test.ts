import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { createInterface } from 'node:readline';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BulkHandler } from '../server/delivery/bulk/engine.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { arfReport, postfixDsn, type ArfShape, type SentHeaders } from './support/bulk-mail.ts';
import { startSmtpSink, type SinkMessage, type SmtpSink } from './support/smtp-sink.ts';

let filo: TestFilo;
let sink: SmtpSink;
let demo: ApiClient;
let db: pg.Client;
let tenantId: string;
let campaignId: string;
const listIds = [randomUUID(), randomUUID()];
const DOMAIN = 'demo.inbound.localhost';

beforeAll(async () => {
  // the real engine's mail goes to a sink, whose copies are what recipients' servers would report about
  sink = await startSmtpSink();
  filo = await startTestFilo({
    SMTP_RELAY_URL: sink.url,
    SMTP_ALLOWED_HOSTS: '127.0.0.1',
    BULK_RATE_PER_SECOND: '1000',
  });
  filo.services.bulk.register(engineSource);
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  tenantId = (await db.query<{ id: string }>(`select id from tenants where slug = 'demo'`)).rows[0]!.id;
  for (const [i, id] of listIds.entries())
    await db.query(`insert into mailing_lists (id, tenant_id, name) values ($1, $2, $3)`, [id, tenantId, `List ${i}`]);
  campaignId = randomUUID();
  await db.query(
    `insert into campaigns (id, tenant_id, name, list_ids, content) values ($1, $2, 'December news', $3, '{}')`,
    [campaignId, tenantId, JSON.stringify(listIds)],
  );
  // another workspace: a token of demo's sends is refused at its addresses, and finds nothing in its mail
  const acme = randomUUID();
  await db.query(`insert into tenants (id, name, slug) values ($1, 'Acme', 'acme')`, [acme]);
  await db.query(`insert into mailboxes (id, tenant_id, name, local_part) values ($1, $2, 'Abuse', 'abuse')`, [
    randomUUID(),
    acme,
  ]);
});
afterAll(async () => {
  await db?.end();
  await filo?.close();
  await sink?.close();
});

/** A bulk source of this test's own (no newsletter code): plain mail to each row. */
const engineSource: BulkHandler = {
  source: 'bulk_message',
  async scope() {
    return {
      state: 'active',
      listIds: [],
      requireConfirmed: false,
      mailboxId: null,
      trackOpens: false,
      trackClicks: false,
    };
  },
  async compose(_tenantId, _sourceId, rows) {
    return new Map(
      rows.map((r) => [
        r.id,
        {
          from: { name: 'Acme News', address: `news@${DOMAIN}` },
          subject: 'December news',
          html: '<p>December news</p>',
          text: 'December news',
        },
      ]),
    );
  },
};

interface Send {
  id: string;
  address: string;
  contactId: string;
  messageId: string;
  bounce: string;
  unsubscribe: string;
  sent: SentHeaders;
}

let people = 0;
/** A contact and their send row of the campaign, as the engine would have made it. */
async function send(status = 'sent'): Promise<Send> {
  const n = ++people;
  const address = `reader${n}@customer.example`;
  const contact = await demo.json('POST', '/api/crm/contacts', {
    firstName: 'Reader',
    lastName: `N${n}`,
    email: address,
  });
  const id = randomUUID();
  const messageId = `${randomUUID()}@${DOMAIN}`;
  await db.query(
    `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, variant, status, message_id, sent_at)
     values ($1, $2, 'campaign', $3, $4, $5, 'a', $6, $7, case when $6 = 'sent' then now() end)`,
    [id, tenantId, campaignId, contact.id, address, status, messageId],
  );
  const bounce = filo.services.bulkTokens.sign({ sendId: id, kind: 'bounce', index: 0 });
  const unsubscribe = filo.services.bulkTokens.sign({ sendId: id, kind: 'unsubscribe', index: 0 });
  const sent: SentHeaders = {
    returnPath: `b+${bounce}@${DOMAIN}`,
    listUnsubscribe: `<${filo.config.publicUrl}/u/${unsubscribe}>, <mailto:u+${unsubscribe}@${DOMAIN}>`,
    messageId,
    to: address,
  };
  return { id, address, contactId: contact.id as string, messageId, bounce, unsubscribe, sent };
}

/** Sends one message to the gateway: its final reply code and text. */
async function deliver(message: Mail.Options): Promise<{ code: number; response: string }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, ignoreTLS: true });
  try {
    const info = (await transport.sendMail(message)) as { response: string };
    return { code: Number(info.response.slice(0, 3)), response: info.response };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; message: string };
    return { code: e.responseCode ?? 0, response: e.response ?? e.message };
  } finally {
    transport.close();
  }
}

/** Delivers and waits until the gateway's row for it is processed. */
async function deliverProcessed(message: Mail.Options) {
  const before = await processed();
  const result = await deliver(message);
  expect(result.code).toBe(250);
  await expect.poll(processed, { timeout: 20_000, interval: 100 }).toBe(before + 1);
  const id = /queued as ([0-9a-f-]{36})/.exec(result.response)![1]!;
  return (await db.query(`select classification, details from inbound_messages where id = $1`, [id])).rows[0] as {
    classification: string;
    details: Record<string, unknown>;
  };
}

const processed = async () =>
  Number((await db.query(`select count(*) as n from inbound_messages where status = 'processed'`)).rows[0].n);

const row = async (id: string) =>
  (await db.query(`select * from bulk_sends where id = $1`, [id])).rows[0] as Record<string, unknown>;

const stats = async () =>
  (await db.query(`select * from delivery_stats where source_id = $1 and variant = 'a'`, [campaignId])).rows[0] as
    Record<string, number> | undefined;

const consents = async (address: string) =>
  (
    await db.query(
      `select list_id, status, source from consents where address_hash = $1 order by list_id nulls first`,
      [filo.services.consent.hash('email', address)],
    )
  ).rows as { list_id: string | null; status: string; source: string }[];

const activities = async (contactId: string, type: string) =>
  (
    await db.query(`select metadata from activities where entity_id = $1 and activity_type = $2`, [contactId, type])
  ).rows.map((r: { metadata: Record<string, unknown> }) => r.metadata);

const conversations = async () =>
  (await demo.json<{ items: { subject: string }[] }>('GET', '/api/inbox/conversations?limit=100')).items;

describe('bounces to the VERP return path', () => {
  it('marks exactly the send the token names, suppresses the address, marks the contact and writes the timeline', async () => {
    const target = await send('sent');
    const other = await send('sent');
    const dsn = postfixDsn({ to: target.sent.returnPath!, recipient: target.address, sent: target.sent });
    const inbound = await deliverProcessed({ envelope: { from: '', to: target.sent.returnPath! }, raw: dsn });
    expect(inbound.classification).toBe('bounce');
    expect(inbound.details.bulk).toMatchObject({ kind: 'bounce', sendId: target.id, changed: true });

    const marked = await row(target.id);
    expect(marked).toMatchObject({ status: 'bounced' });
    expect(marked.bounced_at).not.toBeNull();
    expect(String(marked.last_response)).toContain('User unknown');
    expect(await row(other.id)).toMatchObject({ status: 'sent', bounced_at: null });
    expect(await stats()).toMatchObject({ bounced: 1 });
    expect(await consents(target.address)).toEqual([{ list_id: null, status: 'bounced', source: 'bounce' }]);
    expect(await consents(other.address)).toEqual([]);
    const contact = await demo.json('GET', `/api/crm/contacts/${target.contactId}`);
    expect(contact.emailBouncedAt).toBeTruthy();
    const timeline = await demo.json<{ items: { type: string; data: Record<string, unknown> }[] }>(
      'GET',
      `/api/crm/timeline?entityType=contact&entityId=${target.contactId}`,
    );
    expect(timeline.items.find((a) => a.type === 'email.bounced')?.data).toMatchObject({
      to: target.address,
      status: '5.1.1',
      campaignId,
      sendId: target.id,
    });

    // the same report delivered again changes nothing
    const again = await deliverProcessed({ envelope: { from: '', to: target.sent.returnPath! }, raw: dsn });
    expect(again.details.bulk).toMatchObject({ sendId: target.id, changed: false, reason: 'already' });
    expect(await stats()).toMatchObject({ bounced: 1 });
    expect(await activities(target.contactId, 'email.bounced')).toHaveLength(1);
  });

  it('takes a report in any order with the engine: delivered = sent - bounced stays true', async () => {
    const counters = async () => {
      const c = await stats();
      return { sent: c?.sent ?? 0, bounced: c?.bounced ?? 0, deferred: c?.deferred ?? 0 };
    };
    const dsnTo = (s: Send) => ({
      envelope: { from: '', to: s.sent.returnPath! },
      raw: postfixDsn({ to: s.sent.returnPath!, recipient: s.address, sent: s.sent }),
    });
    // still `sending`: the engine's answer (it writes only rows in `sending`) will record and count it sent
    const early = await send('sending');
    let before = await counters();
    await deliverProcessed(dsnTo(early));
    const inFlight = await row(early.id);
    expect(inFlight).toMatchObject({ status: 'sending' });
    expect(inFlight.bounced_at).not.toBeNull();
    expect(await counters()).toEqual({ ...before, bounced: before.bounced + 1 });
    expect(await consents(early.address)).toEqual([{ list_id: null, status: 'bounced', source: 'bounce' }]);

    // waiting for a retry, though an earlier attempt was accepted: sent, bounced, and never sent again
    const waiting = await send('deferred');
    // as the engine counted it when it deferred it
    await db.query(
      `insert into delivery_stats (tenant_id, source, source_id, variant, deferred) values ($1, 'campaign', $2, 'a', 1)
       on conflict (source, source_id, variant) do update set deferred = delivery_stats.deferred + 1`,
      [tenantId, campaignId],
    );
    before = await counters();
    await deliverProcessed(dsnTo(waiting));
    const stopped = await row(waiting.id);
    expect(stopped).toMatchObject({ status: 'bounced' });
    expect(stopped.sent_at).not.toBeNull();
    expect(await counters()).toEqual({
      sent: before.sent + 1,
      bounced: before.bounced + 1,
      deferred: before.deferred - 1,
    });
    const bouncedBefore = (await counters()).bounced;

    const slow = await send('sent');
    const delayed = postfixDsn({ to: slow.sent.returnPath!, recipient: slow.address, sent: slow.sent, delayed: true });
    const inbound = await deliverProcessed({ envelope: { from: '', to: slow.sent.returnPath! }, raw: delayed });
    expect(inbound.details.bulk).toMatchObject({ changed: false, reason: 'soft' });
    const noted = await row(slow.id);
    expect(noted).toMatchObject({ status: 'sent', bounced_at: null });
    expect(String(noted.last_response)).toMatch(/^Delayed: .*Connection timed out/);
    expect(await consents(slow.address)).toEqual([]);
    expect((await counters()).bounced).toBe(bouncedBefore);
  });

  it('refuses a forged, mangled or misplaced token at RCPT (550 5.1.1)', async () => {
    const target = await send('sent');
    const forged = filo.services.bulkTokens.sign({ sendId: randomUUID(), kind: 'bounce', index: 0 });
    const flipped = (target.bounce[0] === 'a' ? 'b' : 'a') + target.bounce.slice(1);
    for (const to of [
      `b+${flipped}@${DOMAIN}`,
      `b+${target.bounce.slice(0, -1)}@${DOMAIN}`,
      `b+${forged}@${DOMAIN}`,
      // an unsubscribe token is not a return path, and demo's send is not acme's
      `b+${target.unsubscribe}@${DOMAIN}`,
      `b+${target.bounce}@acme.inbound.localhost`,
      `u+${target.bounce}@${DOMAIN}`,
    ]) {
      const refused = await deliver({ envelope: { from: '', to }, raw: 'Subject: x\r\n\r\nx\r\n' });
      expect({ to, code: refused.code }).toEqual({ to, code: 550 });
      expect(refused.response).toContain('5.1.1');
    }
  });
});

describe('spam complaints (ARF)', () => {
  it.each<ArfShape>(['yahoo', 'gmail', 'microsoft'])(
    'a %s report with the complainant redacted suppresses the right address, once',
    async (shape) => {
      const target = await send('sent');
      const bystander = await send('sent');
      const before = (await stats())?.complained ?? 0;
      const report = arfReport(shape, { to: `support@${DOMAIN}`, sent: target.sent });
      const inbound = await deliverProcessed({ from: 'fbl@isp.example', to: `support@${DOMAIN}`, raw: report });
      expect(inbound.classification).toBe('auto_reply');
      expect(inbound.details.bulk).toMatchObject({ kind: 'complaint', sendId: target.id, changed: true });
      expect((await row(target.id)).complained_at).not.toBeNull();
      expect((await row(bystander.id)).complained_at).toBeNull();
      expect(await consents(target.address)).toEqual([{ list_id: null, status: 'complained', source: 'complaint' }]);
      expect(await activities(target.contactId, 'email.complained')).toEqual([
        expect.objectContaining({ feedbackType: 'abuse', campaignId, sendId: target.id }),
      ]);
      expect(await stats()).toMatchObject({ complained: before + 1 });
      await deliverProcessed({ from: 'fbl@isp.example', to: `support@${DOMAIN}`, raw: report });
      expect(await stats()).toMatchObject({ complained: before + 1 });
    },
  );
  it("finds nothing in another workspace's mail: a report naming demo's send delivered to acme changes nothing", async () => {
    const target = await send('sent');
    const report = arfReport('yahoo', { to: 'abuse@acme.inbound.localhost', sent: target.sent });
    const inbound = await deliverProcessed({
      from: 'fbl@isp.example',
      to: 'abuse@acme.inbound.localhost',
      raw: report,
    });
    expect(inbound.details.bulk).toEqual({ kind: 'complaint', sendId: null });
    expect((await row(target.id)).complained_at).toBeNull();
    expect(await consents(target.address)).toEqual([]);
  });
});

describe('the List-Unsubscribe mailto', () => {
  it("unsubscribes the recipient from the campaign's lists, once", async () => {
    const target = await send('sent');
    const mail = { from: target.address, to: `u+${target.unsubscribe}@${DOMAIN}`, subject: 'unsubscribe', text: '' };
    const inbound = await deliverProcessed(mail);
    expect(inbound.details.bulk).toMatchObject({ kind: 'unsubscribe', sendId: target.id, changed: true });
    expect((await row(target.id)).unsubscribed_at).not.toBeNull();
    const rows = await consents(target.address);
    expect(rows.map((r) => [r.list_id, r.status, r.source]).sort()).toEqual(
      listIds.map((id) => [id, 'unsubscribed', 'one_click']).sort(),
    );
    expect(await stats()).toMatchObject({ unsubscribed: 1 });
    const events = async () =>
      Number(
        (
          await db.query(
            `select count(*) as n from consent_events e join consents c on c.id = e.consent_id where c.address_hash = $1`,
            [filo.services.consent.hash('email', target.address)],
          )
        ).rows[0].n,
      );
    const recorded = await events();
    expect(recorded).toBe(2);
    const again = await deliverProcessed(mail);
    expect(again.details.bulk).toMatchObject({ changed: false, reason: 'already' });
    expect(await stats()).toMatchObject({ unsubscribed: 1 });
    expect(await events()).toBe(recorded);
  });
});

describe('with the real engine', () => {
  it("attributes a bounce, an unsubscribe and a reply to the rows the engine's own mail named", async () => {
    const sourceId = randomUUID();
    const to = ['gone@rcpt.test', 'leaving@rcpt.test', 'answering@rcpt.test'];
    await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
      await filo.services.bulk.enqueue(uow, {
        source: 'bulk_message',
        sourceId,
        select: {
          sql: `select null::uuid as contact_id, a as address from jsonb_array_elements_text(?::jsonb) a`,
          params: [JSON.stringify(to)],
        },
      });
      await filo.services.bulk.start(uow, 'bulk_message', sourceId);
    });
    const copies = () => sink.messages.filter((m) => to.includes(m.to[0] ?? ''));
    await expect.poll(() => copies().length, { timeout: 30_000, interval: 100 }).toBe(3);
    const copy = (address: string) => copies().find((m) => m.to[0] === address)!;
    const sendOf = async (address: string) =>
      (await db.query(`select * from bulk_sends where source_id = $1 and address = $2`, [sourceId, address]))
        .rows[0] as Record<string, unknown>;
    await expect.poll(async () => (await sendOf('answering@rcpt.test')).status, { timeout: 20_000 }).toBe('sent');
    const header = (raw: string, name: string) =>
      new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r?\\n[ \\t].*)*)`, 'im').exec(raw)?.[1]?.replace(/\r?\n[ \t]+/g, ' ');

    const gone = copy('gone@rcpt.test');
    expect(gone.from).toMatch(/^b\+[a-z2-7]{47}@demo\.inbound\.localhost$/);
    const sent: SentHeaders = {
      returnPath: gone.from,
      listUnsubscribe: header(gone.raw, 'List-Unsubscribe') ?? null,
      messageId: gone.messageId!,
      to: 'gone@rcpt.test',
    };
    await deliverProcessed({
      envelope: { from: '', to: gone.from },
      raw: postfixDsn({ to: gone.from, recipient: 'gone@rcpt.test', sent }),
    });
    expect(await sendOf('gone@rcpt.test')).toMatchObject({ status: 'bounced' });

    const leaving = copy('leaving@rcpt.test');
    const mailto = /<mailto:([^>]+)>/.exec(header(leaving.raw, 'List-Unsubscribe') ?? '')?.[1];
    expect(mailto).toMatch(/^u\+[a-z2-7]{47}@demo\.inbound\.localhost$/);
    await deliverProcessed({ from: 'leaving@rcpt.test', to: mailto!, subject: 'unsubscribe', text: '' });
    expect((await sendOf('leaving@rcpt.test')).unsubscribed_at).not.toBeNull();
    expect(await consents('leaving@rcpt.test')).toEqual([
      { list_id: null, status: 'unsubscribed', source: 'one_click' },
    ]);

    await deliverProcessed({
      from: 'answering@rcpt.test',
      to: `support@${DOMAIN}`,
      subject: 'Re: December news',
      text: 'Interested!',
      inReplyTo: `<${copy('answering@rcpt.test').messageId}>`,
    });
    expect((await sendOf('answering@rcpt.test')).replied_at).not.toBeNull();
    const counters = (
      await db.query(`select sent, bounced, unsubscribed, replied from delivery_stats where source_id = $1`, [sourceId])
    ).rows;
    expect(counters).toEqual([{ sent: 3, bounced: 1, unsubscribed: 1, replied: 1 }]);
  });

  it("ends bounced when the DSN comes back before the server's 250 was written", async () => {
    const sourceId = randomUUID();
    const address = 'quick-bounce@rcpt.test';
    let release!: () => void;
    const answered = new Promise<void>((r) => (release = r));
    let held: SinkMessage | undefined;
    sink.hold = (m) => (m.to.includes(address) ? ((held = m), answered) : undefined);
    try {
      await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
        await filo.services.bulk.enqueue(uow, {
          source: 'bulk_message',
          sourceId,
          select: { sql: `select null::uuid as contact_id, ?::text as address`, params: [address] },
        });
        await filo.services.bulk.start(uow, 'bulk_message', sourceId);
      });
      await expect.poll(() => held, { timeout: 30_000, interval: 50 }).toBeDefined();
      const sendOf = async () =>
        (await db.query(`select * from bulk_sends where source_id = $1`, [sourceId])).rows[0] as Record<
          string,
          unknown
        >;
      expect(await sendOf()).toMatchObject({ status: 'sending' });
      // The receiving server took the message and bounced it later, before its 250 reached us.
      await deliverProcessed({
        envelope: { from: '', to: held!.from },
        raw: postfixDsn({
          to: held!.from,
          recipient: address,
          sent: { returnPath: held!.from, listUnsubscribe: null, messageId: held!.messageId!, to: address },
        }),
      });
      expect(await sendOf()).toMatchObject({ status: 'sending' });
      release();
      await expect.poll(async () => (await sendOf()).status, { timeout: 20_000 }).toBe('bounced');
      const row = await sendOf();
      expect(row.sent_at).not.toBeNull();
      expect(String(row.last_response)).not.toMatch(/^250/);
      const counters = (await db.query(`select sent, bounced from delivery_stats where source_id = $1`, [sourceId]))
        .rows;
      expect(counters).toEqual([{ sent: 1, bounced: 1 }]);
    } finally {
      release();
      sink.hold = null;
    }
  });
});

describe('replies to bulk mail', () => {
  it('a reply marks the send replied once and makes its conversation; an out-of-office does not count', async () => {
    const replier = await send('sent');
    const away = await send('sent');
    const reply = {
      from: replier.address,
      to: `support@${DOMAIN}`,
      subject: 'Re: December news',
      text: 'Tell me more about the offer.',
      inReplyTo: `<${replier.messageId}>`,
      references: [`<${replier.messageId}>`],
    };
    await deliverProcessed(reply);
    expect((await row(replier.id)).replied_at).not.toBeNull();
    expect(await stats()).toMatchObject({ replied: 1 });
    await deliverProcessed({
      ...reply,
      text: 'And the prices?',
      messageId: `<second.${randomUUID()}@customer.example>`,
    });
    expect(await stats()).toMatchObject({ replied: 1 });

    const oof = await deliverProcessed({
      from: away.address,
      to: `support@${DOMAIN}`,
      subject: 'Automatic reply: December news',
      text: 'I am out of the office until Monday.',
      inReplyTo: `<${away.messageId}>`,
      headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
    });
    expect(oof.classification).toBe('auto_reply');
    expect((await row(away.id)).replied_at).toBeNull();
    expect(await stats()).toMatchObject({ replied: 1 });
    // an out-of-office to the return path is recorded, never read as a reply or a bounce
    const toReturnPath = await deliverProcessed({
      from: away.address,
      to: away.sent.returnPath!,
      subject: 'Out of office',
      text: 'Back on Monday.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    expect(toReturnPath.details.bulk).toMatchObject({ kind: 'return_path', sendId: away.id });
    expect(await row(away.id)).toMatchObject({ status: 'sent', bounced_at: null, replied_at: null });
  });

  it('none of the reports, complaints or unsubscribes made a conversation', async () => {
    // the two replies (the engine's recipient's and this file's reader's) each made one; nothing else did
    expect((await conversations()).map((c) => c.subject)).toEqual(['Re: December news', 'Re: December news']);
  });
});

/** One SMTP session by hand: each command's reply code, in order. */
async function smtpSession(commands: string[]): Promise<number[]> {
  const socket = net.connect(filo.smtpPort!, '127.0.0.1');
  const lines = createInterface({ input: socket });
  const replies = lines[Symbol.asyncIterator]();
  const reply = async () => {
    for (;;) {
      const { value } = (await replies.next()) as { value: string };
      if (/^\d{3} /.test(value)) return Number(value.slice(0, 3));
    }
  };
  const codes: number[] = [];
  await reply();
  for (const command of commands) {
    socket.write(`${command}\r\n`);
    codes.push(await reply());
  }
  socket.end('QUIT\r\n');
  lines.close();
  return codes;
}

describe('guessing tokens', () => {
  it('is limited per client address: after too many invalid tokens even a valid one waits (450)', async () => {
    const target = await send('sent');
    // a real token with one character changed: the MAC no longer matches
    const forged = () => {
      const t = filo.services.bulkTokens.sign({ sendId: randomUUID(), kind: 'bounce', index: 0 });
      return `RCPT TO:<b+${t.slice(0, 20)}${t[20] === 'a' ? 'b' : 'a'}${t.slice(21)}@${DOMAIN}>`;
    };
    const codes = await smtpSession(['EHLO guesser.example', 'MAIL FROM:<>', ...Array.from({ length: 101 }, forged)]);
    const rcpts = codes.slice(2);
    expect(rcpts.filter((c) => c === 550).length).toBeGreaterThan(90);
    expect(rcpts.at(-1)).toBe(450);
    const after = await smtpSession([
      'EHLO guesser.example',
      'MAIL FROM:<>',
      `RCPT TO:<b+${target.bounce}@${DOMAIN}>`,
      `RCPT TO:<support@${DOMAIN}>`,
    ]);
    expect(after.slice(2)).toEqual([450, 250]);
  });
});
