import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { authenticate as mailauth } from 'mailauth';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoleName } from '../db/app-role.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { apiClient, body, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { LiveClient } from './support/live.ts';

/**
 * Outgoing mail against a second SMTP server that plays the customer's mail server (SMTP_RELAY_URL points at
 * it): threading headers, the customer's answer back through Filo's gateway, failures and retries, templates,
 * signatures, attachments, per-mailbox SMTP credentials and DKIM.
 */

interface Received {
  raw: Buffer;
  mail: ParsedMail;
  from: string;
  rcpt: string[];
  user: string | undefined;
}

/** An SMTP server that keeps what it is sent; `refuse` makes it answer with that code instead. */
async function customerServer(opts: { auth?: { user: string; pass: string } } = {}) {
  const received: Received[] = [];
  const state = { refuse: null as null | { code: number; message: string; times: number } };
  const server = new SMTPServer({
    disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass)
        return cb(null, { user: auth.username });
      return cb(Object.assign(new Error('Invalid credentials'), { responseCode: 535 }));
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
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcpt: session.envelope.rcptTo.map((r) => r.address),
            user: session.user as string | undefined,
          });
          cb();
        }, cb);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    /** The message whose subject is `subject`, once it has arrived. */
    async arrival(subject: string): Promise<Received> {
      await expect
        .poll(() => received.some((r) => r.mail.subject === subject), { timeout: 20_000, interval: 100 })
        .toBe(true);
      return received.find((r) => r.mail.subject === subject)!;
    },
  };
}

let relay: Awaited<ReturnType<typeof customerServer>>;
let filo: TestFilo;
let demo: ApiClient;
let support: { id: string; inboundAddress: string; name: string };
let company: { id: string };
let contact: { id: string };

beforeAll(async () => {
  relay = await customerServer();
  // The mailboxes' own servers here are local sinks: listed, and allowed AUTH without TLS, as a local relay would be.
  filo = await startTestFilo({
    SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}`,
    OUTBOUND_RETRY_DELAY: '1',
    SMTP_ALLOWED_HOSTS: '127.0.0.1',
    SMTP_ALLOW_PLAIN_AUTH: '1',
  });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  company = await demo.json('POST', '/api/crm/companies', {
    name: 'Cliente Spa',
    type: 'client',
    website: 'https://cliente.test',
  });
  contact = await demo.json('POST', '/api/crm/contacts', {
    firstName: 'Giulia',
    lastName: 'Verdi',
    email: 'giulia@cliente.test',
    companyId: company.id,
  });
});
afterAll(async () => {
  await filo?.close();
  await relay?.close();
});

/** Sends mail to Filo's own gateway, as the customer's server would. */
async function deliver(message: Mail.Options) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: filo.smtpPort!,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail(message);
  } finally {
    transport.close();
  }
}

interface Message {
  id: string;
  direction: string;
  messageId: string | null;
  status: string | null;
  error: string | null;
  text: string | null;
  html: string | null;
  attachments: { fileName: string }[];
}
interface Conversation {
  id: string;
  subject: string;
  messageCount: number;
  contactId: string | null;
  messages: Message[];
}

/** The conversation with this subject once it has `count` messages (inbound processing is a job). */
async function conversationBySubject(subject: string, count = 1): Promise<Conversation> {
  let id = '';
  await expect
    .poll(
      async () => {
        const page = await demo.json('GET', '/api/inbox/conversations?limit=100');
        const found = page.items.find((c: { subject: string }) => c.subject === subject);
        id = found?.id ?? '';
        return found?.messageCount ?? 0;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(count);
  return demo.json('GET', `/api/inbox/conversations/${id}`);
}

/** Polls a message of a conversation until its status is `status`. */
async function messageStatus(conversationId: string, messageId: string, status: string): Promise<Message> {
  let message: Message | undefined;
  await expect
    .poll(
      async () => {
        const c: Conversation = await demo.json('GET', `/api/inbox/conversations/${conversationId}`);
        message = c.messages.find((m) => m.id === messageId);
        return message?.status;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(status);
  return message!;
}

async function customerWrites(subject: string, messageId: string) {
  await deliver({
    from: '"Giulia Verdi" <giulia@cliente.test>',
    to: support.inboundAddress,
    subject,
    text: 'Buongiorno, avete i freni in magazzino?',
    messageId,
  });
  return conversationBySubject(subject);
}

describe('replies', () => {
  it('reach the customer with From, Message-ID, In-Reply-To and References; the answer threads back', async () => {
    const first = await customerWrites('Freni in magazzino?', '<q1@cliente.test>');
    const live = new LiveClient(filo.baseUrl, { cookie: demo.cookie });
    await live.ready();
    await live.socket.emitWithAck('record:watch', { type: 'company', id: company.id });
    await live.socket.emitWithAck('record:watch', { type: 'conversation', id: first.id });
    const reply = await demo.json(
      'POST',
      `/api/inbox/conversations/${first.id}/replies`,
      { body: 'Ciao **Giulia**, sì: [listino](https://filo.test/listino).', cc: 'capo@cliente.test' },
      202,
    );
    expect(reply).toMatchObject({ status: 'queued', inReplyTo: 'q1@cliente.test', references: ['q1@cliente.test'] });
    expect(reply.messageId).toMatch(/^[0-9a-f-]{36}@demo\.inbound\.localhost$/);

    const got = await relay.arrival('Re: Freni in magazzino?');
    expect(got.mail.from?.value[0]).toEqual({ address: 'support@demo.inbound.localhost', name: 'Support' });
    expect(got.mail.replyTo?.value[0]?.address).toBe('support@demo.inbound.localhost');
    expect(got.mail.messageId).toBe(`<${reply.messageId}>`);
    expect(got.mail.inReplyTo).toBe('<q1@cliente.test>');
    expect(got.mail.references).toBe('<q1@cliente.test>');
    expect(got.rcpt.sort()).toEqual(['capo@cliente.test', 'giulia@cliente.test']);
    expect(got.mail.html).toContain('<strong>Giulia</strong>');
    expect(got.mail.html).toContain('href="https://filo.test/listino"');
    expect(got.mail.text).toContain('Ciao **Giulia**');

    const sent = await messageStatus(first.id, reply.id, 'sent');
    expect(sent).toMatchObject({ direction: 'outbound', error: null });
    const timeline = await demo.json('GET', `/api/crm/timeline?entityType=company&entityId=${company.id}`);
    const activity = timeline.items.find(
      (a: { type: string; data: { emailMessageId?: string } }) =>
        a.type === 'email.sent' && a.data.emailMessageId === reply.id,
    );
    expect(activity).toMatchObject({
      entityType: 'contact',
      entityId: contact.id,
      actor: { name: expect.any(String) },
    });
    expect(activity.actor.name).not.toBe('Filo mail');
    // Live, after commit: the activity on the company's room, the status change on the conversation's.
    await live.until(() => live.activities.find((a) => a.type === 'email.sent' && a.data.emailMessageId === reply.id));
    await live.until(() =>
      live.events.find(
        (e) =>
          e.name === 'record:updated' &&
          (e.payload as { id: string; changes: { status?: string } }).id === first.id &&
          (e.payload as { changes: { status?: string } }).changes.status === 'sent',
      ),
    );
    live.socket.close();

    // The customer answers what arrived, with a subject of their own: only the headers can thread it.
    await deliver({
      from: '"Giulia Verdi" <giulia@cliente.test>',
      to: got.mail.replyTo!.value[0]!.address!,
      subject: 'Ordine confermato',
      text: 'Perfetto, grazie',
      messageId: '<a2@cliente.test>',
      inReplyTo: got.mail.messageId,
      references: [got.mail.references as string, got.mail.messageId!],
    });
    const thread = await conversationBySubject('Freni in magazzino?', 3);
    expect(thread.messages.map((m) => m.direction)).toEqual(['inbound', 'outbound', 'inbound']);
    expect(thread.messages[2]!.text).toContain('Perfetto, grazie');
    const list = await demo.json('GET', '/api/inbox/conversations?limit=100');
    expect(list.items.filter((c: { subject: string }) => c.subject === 'Ordine confermato')).toEqual([]);
  });

  it('are stored with their send job in one transaction: a job that cannot be queued keeps no message', async () => {
    const first = await customerWrites('Consegna sabato?', '<q-tx@cliente.test>');
    const role = appRoleName(decodeURIComponent(new URL(filo.databaseUrl).pathname.slice(1)));
    const owner = new pg.Client({ connectionString: filo.databaseUrl });
    await owner.connect();
    const outbound = async () =>
      (
        await owner.query<{ n: number }>(
          `select count(*)::int as n from messages where conversation_id = $1 and direction = 'outbound'`,
          [first.id],
        )
      ).rows[0]!.n;
    try {
      // The job insert fails inside the reply's transaction: the reply is not kept as queued without its job.
      await owner.query(`revoke insert on pgboss.job_common from "${role}"`);
      const refused = await demo.call('POST', `/api/inbox/conversations/${first.id}/replies`, { body: 'Sì, sabato.' });
      expect(refused.status).toBe(500);
      expect(await outbound()).toBe(0);
      expect((await demo.json('GET', `/api/inbox/conversations/${first.id}`)).messageCount).toBe(1);
    } finally {
      await owner.query(`grant insert on pgboss.job_common to "${role}"`);
    }
    try {
      const reply = await demo.json(
        'POST',
        `/api/inbox/conversations/${first.id}/replies`,
        { body: 'Sì, sabato.' },
        202,
      );
      expect(await outbound()).toBe(1);
      await messageStatus(first.id, reply.id, 'sent');
    } finally {
      await owner.end();
    }
  });

  it('start a new conversation linked to the contact the address belongs to', async () => {
    const sent = await demo.json(
      'POST',
      '/api/inbox/messages',
      { mailboxId: support.id, to: ['Giulia@Cliente.test'], subject: 'Offerta 2027', body: 'In allegato.' },
      202,
    );
    const got = await relay.arrival('Offerta 2027');
    expect(got.mail.inReplyTo).toBeUndefined();
    expect(got.rcpt).toEqual(['giulia@cliente.test']);
    const c: Conversation = await demo.json('GET', `/api/inbox/conversations/${sent.conversationId}`);
    expect(c).toMatchObject({ subject: 'Offerta 2027', contactId: contact.id, messageCount: 1 });
    await messageStatus(c.id, sent.id, 'sent');
    // A follow-up before any answer: to the same people, threaded under our own first message.
    await demo.json('POST', `/api/inbox/conversations/${c.id}/replies`, { body: 'Sollecito' }, 202);
    const followUp = await relay.arrival('Re: Offerta 2027');
    expect(followUp.rcpt).toEqual(['giulia@cliente.test']);
    expect(followUp.mail.inReplyTo).toBe(`<${sent.messageId}>`);
    const bad = await demo.call('POST', '/api/inbox/messages', { mailboxId: support.id, to: 'nope', body: 'x' });
    expect(bad.status).toBe(400);
    expect(Object.keys((await body(bad)).error.fields)).toEqual(expect.arrayContaining(['to.0']));
  });

  it('fail visibly when the relay refuses (5xx), and are sent by a retry once it accepts', async () => {
    const c = await customerWrites('Rifiuto', '<q-refuse@cliente.test>');
    relay.state.refuse = { code: 550, message: 'Mailbox unavailable: policy', times: 1 };
    const reply = await demo.json('POST', `/api/inbox/conversations/${c.id}/replies`, { body: 'Prima prova' }, 202);
    const failed = await messageStatus(c.id, reply.id, 'failed');
    expect(failed.error).toMatch(/550.*Mailbox unavailable: policy/);
    expect(relay.received.some((r) => r.mail.subject === 'Re: Rifiuto')).toBe(false);
    const retried = await demo.json('POST', `/api/inbox/messages/${reply.id}/retry`, {}, 202);
    expect(retried).toMatchObject({ status: 'queued', error: null });
    await relay.arrival('Re: Rifiuto');
    await messageStatus(c.id, reply.id, 'sent');
    const again = await demo.call('POST', `/api/inbox/messages/${reply.id}/retry`, {});
    expect(again.status).toBe(409);
    expect((await body(again)).error.code).toBe('not_failed');
    const delivery = await demo.json('GET', `/api/inbox/messages/${reply.id}/delivery`);
    expect(delivery).toMatchObject({ attempts: 2, transport: 'relay', status: 'sent' });
  });

  it('are tried again after a temporary refusal (4xx), with backoff', async () => {
    const c = await customerWrites('Greylisting', '<q-grey@cliente.test>');
    relay.state.refuse = { code: 451, message: 'Greylisted, try later', times: 1 };
    const reply = await demo.json('POST', `/api/inbox/conversations/${c.id}/replies`, { body: 'Riprovo' }, 202);
    await expect
      .poll(async () => (await demo.json('GET', `/api/inbox/messages/${reply.id}/delivery`)).error, { timeout: 10_000 })
      .toMatch(/451.*Greylisted.*trying again/);
    await relay.arrival('Re: Greylisting');
    const sent = await messageStatus(c.id, reply.id, 'sent');
    expect(sent.error).toBeNull();
  }, 60_000);

  it('carry attachments of the customer’s records or uploaded for them, and no one else’s', async () => {
    const c = await customerWrites('Documenti', '<q-docs@cliente.test>');
    const form = new FormData();
    form.append('file', new Blob(['listino prezzi']), 'listino.txt');
    const upload = await fetch(`${filo.baseUrl}/api/inbox/uploads`, {
      method: 'POST',
      headers: { cookie: demo.cookie, origin: filo.baseUrl },
      body: form,
    });
    expect(upload.status).toBe(201);
    const uploaded = await body(upload);
    const contract = new FormData();
    contract.append('entityType', 'company');
    contract.append('entityId', company.id);
    contract.append('file', new Blob(['%PDF-1.4 contratto']), 'contratto.pdf');
    const doc = await body(
      await fetch(`${filo.baseUrl}/api/crm/documents`, {
        method: 'POST',
        headers: { cookie: demo.cookie, origin: filo.baseUrl },
        body: contract,
      }),
    );
    const elsewhere = await demo.json('POST', '/api/crm/companies', { name: 'Altra Srl', type: 'supplier' });
    const foreign = new FormData();
    foreign.append('entityType', 'company');
    foreign.append('entityId', elsewhere.id);
    foreign.append('file', new Blob(['segreto']), 'segreto.txt');
    const secret = await body(
      await fetch(`${filo.baseUrl}/api/crm/documents`, {
        method: 'POST',
        headers: { cookie: demo.cookie, origin: filo.baseUrl },
        body: foreign,
      }),
    );
    const refused = await demo.call('POST', `/api/inbox/conversations/${c.id}/replies`, {
      body: 'x',
      attachments: [secret.id],
    });
    expect(refused.status).toBe(400);
    expect((await body(refused)).error.code).toBe('invalid_attachment');

    const reply = await demo.json(
      'POST',
      `/api/inbox/conversations/${c.id}/replies`,
      { body: 'Ecco i documenti', attachments: [uploaded.id, doc.id] },
      202,
    );
    const got = await relay.arrival('Re: Documenti');
    expect(got.mail.attachments.map((a) => a.filename).sort()).toEqual(['contratto.pdf', 'listino.txt']);
    expect(got.mail.attachments.find((a) => a.filename === 'listino.txt')!.content.toString()).toBe('listino prezzi');
    const sent = await messageStatus(c.id, reply.id, 'sent');
    expect(sent.attachments.map((a) => a.fileName).sort()).toEqual(['contratto.pdf', 'listino.txt']);
  });
});

describe('templates', () => {
  it('render tokens with fallbacks for a conversation, a contact, or nobody', async () => {
    const template = await demo.json('POST', '/api/inbox/templates', {
      name: 'Benvenuto',
      subject: 'Benvenuto in {{company.name | "Filo"}}',
      body: 'Ciao {{ contact.first_name | "there" }} {{contact.last_name}},\n\n{{user.name}} da {{mailbox.name}} ({{contact.email}})',
    });
    const c = await customerWrites('Template', '<q-tpl@cliente.test>');
    const forConversation = await demo.json(
      'POST',
      `/api/inbox/templates/${template.id}/render`,
      { conversationId: c.id },
      200,
    );
    const me = (await demo.json('GET', '/api/auth/me')).user.name as string;
    expect(forConversation.subject).toBe('Benvenuto in Cliente Spa');
    expect(forConversation.body).toBe(`Ciao Giulia Verdi,\n\n${me} da Support (giulia@cliente.test)`);
    expect(forConversation.html).toContain('<p>Ciao Giulia Verdi,</p>');

    const nobody = await demo.json(
      'POST',
      `/api/inbox/templates/${template.id}/render`,
      { mailboxId: support.id },
      200,
    );
    expect(nobody.subject).toBe('Benvenuto in Filo');
    expect(nobody.body).toBe(`Ciao there ,\n\n${me} da Support ()`);

    const forContact = await demo.json(
      'POST',
      `/api/inbox/templates/${template.id}/render`,
      { contactId: contact.id },
      200,
    );
    expect(forContact.body).toContain('Ciao Giulia Verdi');

    // A reply from a template alone: its body filled in for the conversation.
    const reply = await demo.json(
      'POST',
      `/api/inbox/conversations/${c.id}/replies`,
      { templateId: template.id, signature: null },
      202,
    );
    const got = await relay.arrival('Re: Template');
    expect(got.mail.text?.trim()).toBe(`Ciao Giulia Verdi,\n\n${me} da Support (giulia@cliente.test)`);
    await messageStatus(c.id, reply.id, 'sent');
  });

  it('refuse unknown tokens and unbalanced braces with their position', async () => {
    const unknown = await demo.call('POST', '/api/inbox/templates', {
      name: 'Bad',
      body: 'Hello,\n  dear {{contact.nickname}}!',
    });
    expect(unknown.status).toBe(422);
    const e1 = (await body(unknown)).error;
    expect(e1.code).toBe('unknown_token');
    expect(e1.position).toMatchObject({
      field: 'body',
      line: 2,
      column: 8,
      offset: 14,
      token: '{{contact.nickname}}',
      reason: 'unknown',
    });
    expect(e1.message).toMatch(/line 2, column 8/);

    const open = await demo.call('POST', '/api/inbox/templates', { name: 'Bad', body: 'Ciao {{contact.first_name' });
    expect(open.status).toBe(422);
    expect((await body(open)).error.position).toMatchObject({ field: 'body', line: 1, column: 6, reason: 'malformed' });

    const stray = await demo.call('POST', '/api/inbox/templates', { name: 'Bad', body: 'ok }} no' });
    expect((await body(stray)).error.position).toMatchObject({ line: 1, column: 4, reason: 'malformed' });

    const good = await demo.json('POST', '/api/inbox/templates', { name: 'Good', body: 'Hi' });
    const badSubject = await demo.call('PATCH', `/api/inbox/templates/${good.id}`, { subject: 'Re {{deal.title}}' });
    expect(badSubject.status).toBe(422);
    expect((await body(badSubject)).error.position).toMatchObject({ field: 'subject', line: 1, column: 4 });
    expect((await demo.json('GET', `/api/inbox/templates/${good.id}`)).subject).toBeNull();
    const names = (await demo.json('GET', '/api/inbox/templates')).items.map((t: { name: string }) => t.name);
    expect(names).not.toContain('Bad');
  });
});

describe('signatures', () => {
  it('are chosen: yours for the mailbox, else your default, else the mailbox’s; and can be edited per message', async () => {
    const mailboxSig = await demo.json('POST', '/api/inbox/signatures', {
      scope: 'mailbox',
      mailboxId: support.id,
      body: 'Il team {{mailbox.name}}',
    });
    const pick = async () =>
      (await demo.json('GET', `/api/inbox/signatures/default?mailboxId=${support.id}`)).signature;
    expect((await pick()).id).toBe(mailboxSig.id);
    const mine = await demo.json('POST', '/api/inbox/signatures', { scope: 'user', body: '{{user.name}}' });
    expect((await pick()).id).toBe(mine.id);
    const mineHere = await demo.json('POST', '/api/inbox/signatures', {
      scope: 'user',
      mailboxId: support.id,
      body: '{{user.name}} · Assistenza',
    });
    expect((await pick()).id).toBe(mineHere.id);
    const dup = await demo.call('POST', '/api/inbox/signatures', { scope: 'user', body: 'again' });
    expect(dup.status).toBe(409);

    // A member sees the mailbox's signature but may not change it; the owner's own ones are not theirs.
    const sara = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }),
    );
    expect((await sara.json('GET', `/api/inbox/signatures/default?mailboxId=${support.id}`)).signature.id).toBe(
      mailboxSig.id,
    );
    expect((await sara.call('PATCH', `/api/inbox/signatures/${mailboxSig.id}`, { body: 'x' })).status).toBe(403);
    expect((await sara.call('PATCH', `/api/inbox/signatures/${mine.id}`, { body: 'x' })).status).toBe(404);

    const me = (await demo.json('GET', '/api/auth/me')).user.name as string;
    const c = await customerWrites('Firma', '<q-sig@cliente.test>');
    await demo.json('POST', `/api/inbox/conversations/${c.id}/replies`, { body: 'Automatica' }, 202);
    const auto = await relay.arrival('Re: Firma');
    expect(auto.mail.text).toContain(`Automatica\n\n-- \n${me} · Assistenza`);

    const c2 = await customerWrites('Firma modificata', '<q-sig2@cliente.test>');
    await demo.json(
      'POST',
      `/api/inbox/conversations/${c2.id}/replies`,
      { body: 'A mano', signature: 'Solo per oggi, {{user.name}}' },
      202,
    );
    expect((await relay.arrival('Re: Firma modificata')).mail.text).toContain(`-- \nSolo per oggi, ${me}`);
    const bad = await demo.call('POST', `/api/inbox/conversations/${c2.id}/replies`, {
      body: 'x',
      signature: '{{nope}}',
    });
    expect(bad.status).toBe(422);
    expect((await body(bad)).error.position.field).toBe('signature');
  });
});

describe('mailbox transport settings', () => {
  it('keep the SMTP password and DKIM key encrypted, never return them, and use them to send', async () => {
    const own = await customerServer({ auth: { user: 'filo', pass: 'p4ss-w0rd-segreta' } });
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    try {
      const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Vendite', localPart: 'vendite' });
      const badKey = await demo.call('PATCH', `/api/inbox/mailboxes/${box.id}`, {
        dkim: { selector: 'filo', privateKey: 'not a key' },
      });
      expect(badKey.status).toBe(400);
      const patched = await demo.call('PATCH', `/api/inbox/mailboxes/${box.id}`, {
        smtp: { host: '127.0.0.1', port: own.port, secure: false, user: 'filo', password: 'p4ss-w0rd-segreta' },
        dkim: { selector: 'filo', privateKey },
      });
      expect(patched.status).toBe(200);
      const text = await patched.text();
      expect(text).not.toContain('p4ss-w0rd-segreta');
      expect(text).not.toContain('PRIVATE KEY');
      const dto = JSON.parse(text);
      expect(dto.smtp).toEqual({ host: '127.0.0.1', port: own.port, secure: false, user: 'filo', hasPassword: true });
      expect(dto.dkim).toMatchObject({
        selector: 'filo',
        domain: 'demo.inbound.localhost',
        hasPrivateKey: true,
        dnsName: 'filo._domainkey.demo.inbound.localhost',
      });
      const listed = JSON.stringify(await demo.json('GET', '/api/inbox/mailboxes'));
      expect(listed).not.toContain('p4ss-w0rd-segreta');

      const db = new pg.Client({ connectionString: filo.databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query(`select smtp_password_enc, dkim_private_key_enc from mailboxes where id = $1`, [
          box.id,
        ]);
        const row = rows[0] as { smtp_password_enc: string; dkim_private_key_enc: string };
        expect(row.smtp_password_enc).toMatch(/^v1:/);
        expect(row.smtp_password_enc).not.toContain('p4ss');
        expect(row.dkim_private_key_enc).not.toContain('PRIVATE KEY');
        const secrets = new Secrets(filo.config.secretKey);
        expect(secrets.decrypt(row.smtp_password_enc, 'mailbox.smtp_password')).toBe('p4ss-w0rd-segreta');
        expect(() =>
          new Secrets('another key of at least thirty-two chars').decrypt(
            row.smtp_password_enc,
            'mailbox.smtp_password',
          ),
        ).toThrow();
      } finally {
        await db.end();
      }

      // Sent through the mailbox's own server, authenticated, and DKIM-signed for its domain.
      const sent = await demo.json(
        'POST',
        '/api/inbox/messages',
        { mailboxId: box.id, to: 'buyer@cliente.test', subject: 'Firmato DKIM', body: 'Ciao' },
        202,
      );
      const got = await own.arrival('Firmato DKIM');
      expect(got.user).toBe('filo');
      expect(relay.received.some((r) => r.mail.subject === 'Firmato DKIM')).toBe(false);
      const verdict = await mailauth(got.raw, {
        ip: '127.0.0.1',
        helo: 'localhost',
        sender: got.from,
        disableBimi: true,
        resolver: async (name: string, rrtype: string) => {
          if (rrtype === 'TXT' && name === dto.dkim.dnsName) return [[dto.dkim.dnsRecord]];
          throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
        },
      } as Parameters<typeof mailauth>[1]);
      const signature = verdict.dkim?.results?.[0];
      expect(signature?.signingDomain).toBe('demo.inbound.localhost');
      expect(signature?.status.result).toBe('pass');
      await messageStatus(sent.conversationId, sent.id, 'sent');
      const delivery = await demo.json('GET', `/api/inbox/messages/${sent.id}/delivery`);
      expect(delivery.transport).toBe('mailbox');

      // Wrong credentials: refused (535) for good, the message shows it.
      await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
        smtp: { host: '127.0.0.1', port: own.port, user: 'filo', password: 'wrong' },
      });
      const refused = await demo.json(
        'POST',
        '/api/inbox/messages',
        { mailboxId: box.id, to: 'buyer@cliente.test', subject: 'Password sbagliata', body: 'x' },
        202,
      );
      const failed = await messageStatus(refused.conversationId, refused.id, 'failed');
      expect(failed.error).toMatch(/535|Invalid credentials/);
      // Turning the settings off goes back to the relay.
      const off = await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, { smtp: null, dkim: null });
      expect(off).toMatchObject({ smtp: null, dkim: null });
    } finally {
      await own.close();
    }
  });
});

describe('development outbox', () => {
  it('keeps mail without a relay, for the workspace’s admins, and is absent with a relay', async () => {
    expect((await demo.call('GET', '/api/dev/outbox')).status).toBe(404);
    const dev = await startTestFilo();
    try {
      const owner = apiClient(dev.baseUrl, await login(dev.baseUrl));
      const box = await owner.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
      const sent = await owner.json(
        'POST',
        '/api/inbox/messages',
        { mailboxId: box.id, to: 'someone@example.test', subject: 'Solo in locale', body: 'Non spedito' },
        202,
      );
      let items: { subject: string; to: string; messageId: string; text: string }[] = [];
      await expect
        .poll(async () => {
          items = (await owner.json('GET', '/api/dev/outbox')).items;
          return items.map((i) => i.subject);
        })
        .toContain('Solo in locale');
      const kept = items.find((i) => i.subject === 'Solo in locale')!;
      expect(kept).toMatchObject({ to: 'someone@example.test', messageId: `<${sent.messageId}>` });
      expect(kept.text).toContain('Non spedito');
      // The file is kept first, then the job marks the message sent.
      await expect
        .poll(
          async () =>
            (await owner.json<Conversation>('GET', `/api/inbox/conversations/${sent.conversationId}`)).messages[0]
              ?.status,
        )
        .toBe('sent');
      const delivery = await owner.json('GET', `/api/inbox/messages/${sent.id}/delivery`);
      expect(delivery.transport).toBe('outbox');
      const sara = apiClient(
        dev.baseUrl,
        await login(dev.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }),
      );
      expect((await sara.call('GET', '/api/dev/outbox')).status).toBe(403);
    } finally {
      await dev.close();
    }
  });
});
