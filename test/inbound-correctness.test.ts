import nodemailer from 'nodemailer';
import pg from 'pg';
import type Mail from 'nodemailer/lib/mailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tnef } from './mail/tnef-fixture.ts';
import { BY_SUBJECT } from '../server/inbox/inbound/thread.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/** Issue 12 end to end: real SMTP into a whole Filo, then what the API says of conversations and contacts. */

let filo: TestFilo;
let demo: ApiClient;
let support: { id: string; inboundAddress: string };

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
});
afterAll(() => filo?.close());

async function deliver(message: Mail.Options): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: filo.smtpPort!,
    secure: false,
    ignoreTLS: true,
  });
  try {
    const info = (await transport.sendMail({ to: support.inboundAddress, ...message })) as { response: string };
    expect(info.response.slice(0, 3)).toBe('250');
  } finally {
    transport.close();
  }
}

/** A raw message (CRLF lines) from this envelope sender; '' is the null sender of a bounce. */
const deliverRaw = (from: string, lines: (string | Buffer)[]) =>
  deliver({
    envelope: { from, to: support.inboundAddress },
    raw: Buffer.concat(lines.flatMap((l) => [Buffer.isBuffer(l) ? l : Buffer.from(l), Buffer.from('\r\n')])),
  });

interface Conversation {
  id: string;
  subject: string;
  contactId: string | null;
  messageCount: number;
  participants: string[];
  relatedConversationId: string | null;
}
interface Message {
  id: string;
  messageId: string | null;
  from: { address: string; name: string } | null;
  subject: string;
  text: string | null;
  html: string | null;
  notices: string[];
  attachments: { fileName: string; size: number }[];
}

const conversations = async () =>
  (await demo.json<{ items: Conversation[] }>('GET', '/api/inbox/conversations?limit=100')).items;

/** Waits until the conversations with this subject hold `messages` messages in all. */
async function withSubject(subject: string, messages: number): Promise<Conversation[]> {
  let found: Conversation[] = [];
  await expect
    .poll(
      async () => {
        found = (await conversations()).filter((c) => c.subject === subject);
        return found.reduce((n, c) => n + c.messageCount, 0);
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(messages);
  return found;
}

const messagesOf = async (id: string) =>
  (await demo.json<{ messages: Message[] }>('GET', `/api/inbox/conversations/${id}`)).messages;

/** Waits until every accepted message has been processed (whatever became of it). */
async function allProcessed() {
  await expect
    .poll(
      async () =>
        (await filoQuery(`select count(*)::int as n from inbound_messages where status <> 'processed'`))[0]?.n,
      { timeout: 20_000, interval: 100 },
    )
    .toBe(0);
}

async function filoQuery<T = { n: number }>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: filo.databaseUrl });
  await client.connect();
  try {
    // several statements in one text: the last one's rows
    const result = (await client.query(sql, params)) as pg.QueryResult | pg.QueryResult[];
    return (Array.isArray(result) ? result.at(-1)! : result).rows as T[];
  } finally {
    await client.end();
  }
}

const replyTo = async (conversationId: string) =>
  demo.json<{ to: { address: string }[]; inReplyTo: string | null }>(
    'POST',
    `/api/inbox/conversations/${conversationId}/replies`,
    { body: 'Grazie, ci pensiamo noi.' },
    202,
  );

describe('threading never merges unrelated people', () => {
  it('keeps two customers of different domains writing "Invoice" / "RE: invoice" apart, linked as possibly related', async () => {
    await deliver({
      from: 'Anna <anna@alpha.test>',
      subject: 'Invoice',
      text: 'Where is my invoice?',
      messageId: '<inv-a@alpha.test>',
    });
    const [first] = await withSubject('Invoice', 1);
    await deliver({
      from: 'Bruno <bruno@beta.test>',
      subject: 'RE: invoice',
      text: 'Mine too.',
      messageId: '<inv-b@beta.test>',
    });
    const second = (await withSubject('RE: invoice', 1))[0]!;
    expect(second.id).not.toBe(first!.id);
    expect(second.relatedConversationId).toBe(first!.id);
    const again = (await conversations()).find((c) => c.id === first!.id)!;
    expect(again.messageCount).toBe(1);
    expect(again.participants).not.toContain('bruno@beta.test');
    expect((await replyTo(first!.id)).to.map((a) => a.address)).toEqual(['anna@alpha.test']);
    expect((await replyTo(second.id)).to.map((a) => a.address)).toEqual(['bruno@beta.test']);
  });

  it('still threads by subject when a real outside participant is shared', async () => {
    await deliver({
      from: 'carla@gamma.test',
      cc: 'dario@gamma.test',
      subject: 'Ordine 77',
      text: 'Ordine.',
      messageId: '<o77-1@gamma.test>',
    });
    await withSubject('Ordine 77', 1);
    await deliver({
      from: 'dario@gamma.test',
      subject: 'Re: Ordine 77',
      text: 'Confermo.',
      messageId: '<o77-2@gamma.test>',
    });
    const [thread] = await withSubject('Ordine 77', 2);
    expect(thread!.relatedConversationId).toBeNull();
  });

  it('looks a subject up with every condition in the index: mailbox, subject and date', async () => {
    const busy = await demo.json<{ id: string }>('POST', '/api/inbox/mailboxes', { name: 'Busy', localPart: 'busy' });
    // 3,000 conversations of the last month in one mailbox, freshly written (no statistics on them yet)
    await filoQuery(
      `insert into conversations (id, tenant_id, channel, mailbox_id, subject, normalized_subject, participants,
                                  message_count, last_message_at, status)
       select gen_random_uuid(), m.tenant_id, 'email', m.id, 'Order ' || i, 'order ' || i, '{}', 1,
              now() - interval '20 days' + i * interval '1 minute', 'open'
         from mailboxes m, generate_series(1, 3000) i where m.id = $1`,
      [busy.id],
    );
    const [{ tenant_id: tenant }] = (await filoQuery<{ tenant_id: string }>(
      `select tenant_id from mailboxes where id = $1`,
      [busy.id],
    )) as [{ tenant_id: string }];
    // the plan every message gets once the statement is prepared (a generic one, whatever the parameters)
    const plan = await filoQuery<{ 'QUERY PLAN': string }>(
      `set plan_cache_mode = force_generic_plan; prepare by_subject as ${BY_SUBJECT.text};
       explain execute by_subject('{x@y.test}', '${tenant}', '${busy.id}', 'order 17', 30)`,
    );
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    // every condition answered by the index: none of the mailbox's conversations read to compare its subject
    expect(text).toMatch(/Index Cond: .*mailbox_id.*normalized_subject.*last_message_at/s);
    expect(text).not.toMatch(/Filter: .*normalized_subject/);
  });

  it('does not let a stranger join a thread by quoting its References, and replies go to each sender', async () => {
    await deliver({
      from: 'Elena <elena@delta.test>',
      subject: 'Contratto',
      text: 'Ecco il contratto.',
      messageId: '<c-1@delta.test>',
      cc: 'fabio@delta.test',
    });
    const [original] = await withSubject('Contratto', 1);
    // the colleague she copied answers: the referenced message was sent to him, so it is the same thread
    await deliver({
      from: 'fabio@delta.test',
      subject: 'Re: Contratto',
      text: 'Visto.',
      messageId: '<c-2@delta.test>',
      inReplyTo: '<c-1@delta.test>',
      references: ['<c-1@delta.test>'],
    });
    await withSubject('Contratto', 2);
    // a stranger with the thread's References and another subject: a new conversation, possibly related
    await deliver({
      from: 'mallory@evil.test',
      subject: 'Bank details changed',
      text: 'Pay here.',
      messageId: '<m-1@evil.test>',
      references: ['<c-1@delta.test>'],
    });
    const [stranger] = await withSubject('Bank details changed', 1);
    expect(stranger!.id).not.toBe(original!.id);
    expect(stranger!.relatedConversationId).toBe(original!.id);
    const thread = (await conversations()).find((c) => c.id === original!.id)!;
    expect(thread.messageCount).toBe(2);
    expect(thread.participants).not.toContain('mallory@evil.test');
    // replying goes to the sender of the message replied to (the colleague's, the last), never the stranger
    const reply = await replyTo(original!.id);
    expect(reply.to.map((a) => a.address)).toEqual(['fabio@delta.test']);
    expect(reply.inReplyTo).toBe('c-2@delta.test');
  });

  it('replies to the sender of the last message even when it carries no Message-ID (In-Reply-To does not point elsewhere)', async () => {
    await deliver({
      from: 'gina@eps.test',
      cc: 'ugo@eps.test',
      subject: 'Preventivo 9',
      text: 'Un preventivo?',
      messageId: '<p9-1@eps.test>',
    });
    const [thread] = await withSubject('Preventivo 9', 1);
    await deliverRaw('ugo@eps.test', [
      'From: ugo@eps.test',
      `To: ${support.inboundAddress}`,
      'Subject: Re: Preventivo 9',
      'In-Reply-To: <p9-1@eps.test>',
      'References: <p9-1@eps.test>',
      '',
      'Anche per me.',
    ]);
    await withSubject('Preventivo 9', 2);
    const reply = await replyTo(thread!.id);
    expect(reply.to.map((a) => a.address)).toEqual(['ugo@eps.test']);
    expect(reply.inReplyTo).toBeNull();
  });
});

describe('bounces mark only permanent failures, with their reason on the contact', () => {
  const contact = (email: string) =>
    demo.json('POST', '/api/crm/contacts', { firstName: 'Bounce', lastName: email, email });
  const get = (id: string) =>
    demo.json<{ emailBouncedAt: string | null; emailBounceReason: string | null }>('GET', `/api/crm/contacts/${id}`);

  it('marks the address of a qmail text bounce with the server reason; a soft Exim delay marks nothing', async () => {
    const hard = await contact('hard@zeta.test');
    const soft = await contact('soft@zeta.test');
    await deliverRaw('', [
      'From: MAILER-DAEMON@mx.zeta.test',
      `To: ${support.inboundAddress}`,
      'Subject: Warning: message delayed 24 hours',
      'Message-ID: <delay-1@mx.zeta.test>',
      '',
      'This message was created automatically by mail delivery software.',
      'A message that you sent has not yet been delivered to one or more of its recipients.',
      '',
      '  soft@zeta.test',
      '    451 4.2.2 Mailbox full, try again later',
    ]);
    await deliverRaw('', [
      'From: MAILER-DAEMON@mx.zeta.test',
      `To: ${support.inboundAddress}`,
      'Subject: failure notice',
      'Message-ID: <qmail-1@mx.zeta.test>',
      '',
      'Hi. This is the qmail-send program at mx.zeta.test.',
      "I'm afraid I wasn't able to deliver your message to the following addresses.",
      "This is a permanent error; I've given up. Sorry it didn't work out.",
      '',
      '<hard@zeta.test>:',
      'Remote host said: 550 sorry, no mailbox here by that name',
    ]);
    await expect.poll(async () => (await get(hard.id)).emailBouncedAt, { timeout: 20_000, interval: 100 }).toBeTruthy();
    expect((await get(hard.id)).emailBounceReason).toBe('Remote host said: 550 sorry, no mailbox here by that name');
    await allProcessed();
    expect(await get(soft.id)).toMatchObject({ emailBouncedAt: null, emailBounceReason: null });
    // a corrected address starts clean
    await demo.json('PATCH', `/api/crm/contacts/${hard.id}`, { email: 'hard.fixed@zeta.test' });
    expect(await get(hard.id)).toMatchObject({ emailBouncedAt: null, emailBounceReason: null });
  });

  it('reads a DSN without Status by its Diagnostic-Code', async () => {
    const c = await contact('nostatus@zeta.test');
    await deliverRaw('', [
      'From: postmaster@mx.zeta.test',
      `To: ${support.inboundAddress}`,
      'Subject: Delivery Status Notification (Failure)',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
      '',
      '--r',
      'Content-Type: text/plain',
      '',
      'Failed.',
      '--r',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.zeta.test',
      '',
      'Final-Recipient: rfc822; nostatus@zeta.test',
      'Action: failed',
      'Diagnostic-Code: smtp; 550 5.1.1 The email account does not exist',
      '--r--',
    ]);
    await expect
      .poll(async () => (await get(c.id)).emailBounceReason, { timeout: 20_000, interval: 100 })
      .toBe('550 5.1.1 The email account does not exist');
  });
});

describe('messages read as what they are', () => {
  it('keeps a different message reusing a Message-ID (with a note), and drops a true duplicate', async () => {
    const msg = { from: 'hugo@eta.test', subject: 'Riunione', messageId: '<same-id@eta.test>' };
    await deliver({ ...msg, text: 'Alle dieci.' });
    await withSubject('Riunione', 1);
    await deliver({ ...msg, text: 'Alle dieci.' }); // the same message again (a retry, a second route)
    await deliver({ ...msg, text: 'Cambio: alle undici!' });
    await allProcessed();
    const [thread] = await withSubject('Riunione', 2);
    const messages = await messagesOf(thread!.id);
    expect(messages.map((m) => [m.text?.trim(), m.notices])).toEqual([
      ['Alle dieci.', []],
      ['Cambio: alle undici!', ['duplicate_message_id']],
    ]);
  });

  it('shows readable text for Windows-1252 labelled UTF-8 and for a leading byte order mark', async () => {
    await deliverRaw('iris@theta.test', [
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('From: Iris <iris@theta.test>')]),
      `To: ${support.inboundAddress}`,
      'Subject: Caffe',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      Buffer.from('Il caffè è pronto, perché no?', 'latin1'),
    ]);
    const [thread] = await withSubject('Caffe', 1);
    const [message] = await messagesOf(thread!.id);
    expect(message!.from).toEqual({ address: 'iris@theta.test', name: 'Iris' });
    expect(message!.text?.trim()).toBe('Il caffè è pronto, perché no?');
  });

  it('shows the plain-text alternative when the HTML part loses most of its text', async () => {
    const words = 'Il testo vero di questo messaggio sta tutto in un campo di un modulo. '.repeat(8);
    await deliver({
      from: 'luca@iota.test',
      subject: 'Modulo',
      text: words,
      html: `<p>Ciao</p><select><option>${words}</option></select>`,
    });
    const [thread] = await withSubject('Modulo', 1);
    const [message] = await messagesOf(thread!.id);
    expect(message!.html).toBeNull();
    expect(message!.text?.trim()).toBe(words.trim());
    expect(message!.notices).toEqual(['html_replaced_by_text']);
  });

  it('keeps the text after an unclosed <svg> in the stored HTML', async () => {
    const blocks = Array.from({ length: 20 }, (_, i) => `<p>Paragrafo ${i + 1}.</p>`);
    await deliver({
      from: 'marta@kappa.test',
      subject: 'Newsletter',
      html: `${blocks[0]}<svg>${blocks.slice(1).join('')}`,
    });
    const [thread] = await withSubject('Newsletter', 1);
    const [message] = await messagesOf(thread!.id);
    expect(message!.html?.match(/Paragrafo \d+/g)).toHaveLength(20);
  });
  it('unpacks winmail.dat into its files, and labels yEnc and message/partial', async () => {
    const pdf = Buffer.from('%PDF-1.4 the offer');
    await deliver({
      from: 'nina@lambda.test',
      subject: 'Offerta Outlook',
      text: 'In allegato.',
      attachments: [
        {
          filename: 'winmail.dat',
          contentType: 'application/ms-tnef',
          content: tnef([{ short: 'OFFERT~1.PDF', long: 'Offerta 2026.pdf', data: pdf }]),
        },
      ],
    });
    await deliver({
      from: 'nina@lambda.test',
      subject: 'Foto yEnc',
      text: 'Eccola:\n=ybegin line=128 size=4 name=foto.jpg\n\u00e9\u00ff\u00a0\u00b1\n=yend size=4\nCiao',
    });
    await deliverRaw('nina@lambda.test', [
      'From: nina@lambda.test',
      `To: ${support.inboundAddress}`,
      'Subject: Parte 1 di 2',
      'MIME-Version: 1.0',
      'Content-Type: message/partial; id="big@lambda.test"; number=1; total=2',
      '',
      'Message-ID: <inner@lambda.test>',
      '',
      'first half',
    ]);
    const [offer] = await withSubject('Offerta Outlook', 1);
    const [withOffer] = await messagesOf(offer!.id);
    expect(withOffer!.attachments.map((a) => [a.fileName, a.size])).toEqual([['Offerta 2026.pdf', pdf.length]]);
    expect(withOffer!.notices).toEqual(['tnef']);
    const [yenc] = await withSubject('Foto yEnc', 1);
    const [withYenc] = await messagesOf(yenc!.id);
    expect(withYenc!.text?.trim()).toBe('Eccola:\n[yEnc-encoded file: foto.jpg, 4 bytes]\nCiao');
    expect(withYenc!.notices).toEqual(['yenc']);
    const [part] = await withSubject('Parte 1 di 2', 1);
    const [withPart] = await messagesOf(part!.id);
    expect(withPart!.notices).toEqual(['partial']);
    expect(withPart!.attachments.map((a) => a.fileName)).toEqual(['message-part-1-of-2.eml']);
  });
});
