import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secrets } from '../server/crypto/secrets.ts';
import { readOutbox } from '../server/delivery/mailer.ts';
import type { LookupFn } from '../server/delivery/smtp-target.ts';
import { apiClient, body, login, signUp, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * Outbound mail that a workspace controls must not reach further than its own: per-workspace budgets of
 * invitation mail, SMTP settings that cannot leak the stored password or probe the operator's network, sending
 * addresses only on verified domains, click redirects only to what was genuinely sent.
 */

let filo: TestFilo;
let demo: ApiClient;

/** A query as the database owner (no row-level security), to see what was stored. */
async function sql<T>(text: string, values: unknown[] = []): Promise<T[]> {
  const db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  try {
    return (await db.query(text, values)).rows as T[];
  } finally {
    await db.end();
  }
}

async function signup(workspace: string, email: string): Promise<ApiClient> {
  const cookie = await signUp(filo, {
    workspace,
    name: 'Other Owner',
    email,
    password: 'correct horse battery staple',
  });
  return apiClient(filo.baseUrl, cookie);
}

let sara: ApiClient;
/** Names the mailbox SMTP check resolves here (others go to the system resolver); tests change it. */
const dns = new Map<string, string[]>();
const systemLookup: { fn: LookupFn } = { fn: async () => [] };

beforeAll(async () => {
  // 127.0.0.2 plays the operator's local relay: listed, but AUTH to it still needs TLS (no SMTP_ALLOW_PLAIN_AUTH).
  filo = await startTestFilo({ SMTP_ALLOWED_HOSTS: '127.0.0.2' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
  const policy = filo.services.mailer.smtpTargets;
  systemLookup.fn = policy.lookup;
  policy.lookup = async (host) => {
    const answer = dns.get(host);
    if (!answer) return systemLookup.fn(host);
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
});
afterAll(() => filo?.close());

/** An SMTP server that counts connections and AUTH attempts and keeps what it receives. */
async function sink(host: string, opts: { auth?: boolean } = {}) {
  const seen = { connections: 0, auths: [] as string[], subjects: [] as string[] };
  const server = new SMTPServer({
    disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    logger: false,
    onConnect(_session, cb) {
      seen.connections += 1;
      cb();
    },
    onAuth(auth, _session, cb) {
      seen.auths.push(String(auth.password));
      cb(null, { user: auth.username });
    },
    onData(stream, _session, cb) {
      void simpleParser(stream).then((mail) => {
        seen.subjects.push(mail.subject ?? '');
        cb();
      }, cb);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Message {
  id: string;
  status: string | null;
  error: string | null;
}
/** Polls an outbound message until it leaves the queue. */
async function settled(conversationId: string, id: string, status: string): Promise<Message> {
  let message: Message | undefined;
  await expect
    .poll(async () => {
      const c = await demo.json('GET', `/api/inbox/conversations/${conversationId}`);
      message = c.messages.find((m: Message) => m.id === id);
      return message?.status;
    })
    .toBe(status);
  return message!;
}

describe('invitation mail', () => {
  it('is limited per workspace: over the budget 429 send_limited with Retry-After, nothing stored; others unaffected', async () => {
    for (let i = 0; i < 30; i++)
      await demo.json('POST', '/api/team/invitations', { email: `invitee${i}@example.test`, role: 'member' });
    const over = await demo.call('POST', '/api/team/invitations', {
      email: 'one-too-many@example.test',
      role: 'member',
    });
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await body(over)).error.code).toBe('send_limited');
    const outbox = readOutbox(filo.services.mailer.outboxDir!).map((m) => m.raw);
    expect(outbox.filter((raw) => /^To: invitee\d+@example\.test$/m.test(raw))).toHaveLength(30);
    expect(outbox.some((raw) => raw.includes('one-too-many@example.test'))).toBe(false);
    const invited = await sql<{ email: string }>(`select email from invitations where email like '%@example.test'`);
    expect(invited.map((r) => r.email)).toContain('invitee0@example.test');
    expect(invited.map((r) => r.email)).not.toContain('one-too-many@example.test');

    const other = await signup('Altro Spazio', 'owner@altro.example');
    await other.json('POST', '/api/team/invitations', { email: 'fine@example.test', role: 'member' });
  });
});

describe('a mailbox SMTP host', () => {
  const refused = [
    '127.0.0.1',
    'localhost',
    '10.1.2.3',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '[::1]',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    'fd00::1',
    'fd00:ec2::254',
    'fe80::1',
    '::',
    // Other spellings of 127.0.0.1 that resolvers accept.
    '2130706433',
    '0x7f000001',
    '127.1',
    '0177.0.0.1',
    'metadata.rebind.test',
    'half.rebind.test',
    'nowhere.invalid',
  ];

  it('is refused on loopback, private, link-local and metadata addresses, for every address a name resolves to', async () => {
    dns.set('metadata.rebind.test', ['169.254.169.254']);
    dns.set('half.rebind.test', ['93.184.215.14', '10.0.0.7']);
    const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Probe', localPart: 'probe' });
    for (const host of refused) {
      const res = await demo.call('PATCH', `/api/inbox/mailboxes/${box.id}`, {
        smtp: { host, port: 6379, user: 'x', password: 'y' },
      });
      expect(res.status, host).toBe(400);
      const error = (await body(res)).error;
      expect(error.code, host).toBe('smtp_host_refused');
      // One answer for all: nothing tells an open port, a closed one or a name that does not resolve apart.
      expect(error.message).toBe('This SMTP server cannot be used: give the name of a public mail server');
      expect(error.fields).toEqual({ 'smtp.host': 'must be a public mail server' });
    }
    const created = await demo.call('POST', '/api/inbox/mailboxes', {
      name: 'Probe 2',
      localPart: 'probe2',
      smtp: { host: '169.254.169.254', port: 80 },
    });
    expect(created.status).toBe(400);
    expect((await demo.json('GET', `/api/inbox/mailboxes/${box.id}`)).smtp).toBeNull();
    const mailboxes = await sql<{ local_part: string }>(`select local_part from mailboxes where local_part = 'probe2'`);
    expect(mailboxes).toEqual([]);
  });

  it('is checked again when sending, and Filo connects to the address it checked', async () => {
    const local = await sink('127.0.0.1');
    const relay = await sink('127.0.0.2');
    try {
      dns.set('mx.public.test', ['93.184.215.14']);
      const box = await demo.json('POST', '/api/inbox/mailboxes', {
        name: 'Rebind',
        localPart: 'rebind',
        smtp: { host: 'mx.public.test', port: local.port },
      });
      // The name now answers with a loopback address: the send is refused for good, nothing connects.
      dns.set('mx.public.test', ['127.0.0.1']);
      const sent = await demo.json(
        'POST',
        '/api/inbox/messages',
        { mailboxId: box.id, to: 'someone@example.test', subject: 'Rebound', body: 'x' },
        202,
      );
      const failed = await settled(sent.conversationId, sent.id, 'failed');
      expect(failed.error).toBe('This SMTP server cannot be used: give the name of a public mail server');
      expect(local.seen.connections).toBe(0);

      // A listed local relay is reached at the address the check saw, under a name no real resolver knows.
      dns.set('relay.local.test', ['127.0.0.2']);
      await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
        smtp: { host: 'relay.local.test', port: relay.port },
      });
      const ok = await demo.json(
        'POST',
        '/api/inbox/messages',
        { mailboxId: box.id, to: 'someone@example.test', subject: 'Via the local relay', body: 'x' },
        202,
      );
      await settled(ok.conversationId, ok.id, 'sent');
      expect(relay.seen.subjects).toContain('Via the local relay');
      expect(local.seen.connections).toBe(0);
    } finally {
      await local.close();
      await relay.close();
    }
  });

  it('never gets the password over a connection without TLS, and a failed connection is not described', async () => {
    const relay = await sink('127.0.0.2', { auth: true });
    try {
      const box = await demo.json('POST', '/api/inbox/mailboxes', {
        name: 'Plain',
        localPart: 'plain',
        smtp: { host: '127.0.0.2', port: relay.port, user: 'filo', password: 'segreto-in-chiaro' },
      });
      const sent = await demo.json(
        'POST',
        '/api/inbox/messages',
        { mailboxId: box.id, to: 'someone@example.test', subject: 'Senza TLS', body: 'x' },
        202,
      );
      const failed = await settled(sent.conversationId, sent.id, 'failed');
      expect(failed.error).toMatch(/TLS/);
      expect(relay.seen.connections).toBeGreaterThan(0);
      expect(relay.seen.auths).toEqual([]);
      expect(relay.seen.subjects).not.toContain('Senza TLS');
    } finally {
      await relay.close();
    }
    // Nothing listens there any more: the message says so without the socket error's words.
    const box = (await demo.json('GET', '/api/inbox/mailboxes')).items.find(
      (m: { localPart: string }) => m.localPart === 'plain',
    );
    await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
      smtp: { host: '127.0.0.2', port: relay.port, user: null, password: null },
    });
    const gone = await demo.json(
      'POST',
      '/api/inbox/messages',
      { mailboxId: box.id, to: 'someone@example.test', subject: 'Nessuno', body: 'x' },
      202,
    );
    await expect
      .poll(async () => (await demo.json('GET', `/api/inbox/messages/${gone.id}/delivery`)).error ?? '')
      .toContain('Could not reach the mailbox’s SMTP server');
    const error = (await demo.json('GET', `/api/inbox/messages/${gone.id}/delivery`)).error as string;
    expect(error).not.toMatch(/ECONNREFUSED|127\.0\.0\.2|connect/);
  });

  it('keeps the stored password only for the host, port and user it was entered for', async () => {
    dns.set('smtp.provider.test', ['93.184.215.14']);
    dns.set('smtp.attacker.test', ['93.184.215.15']);
    const box = await demo.json('POST', '/api/inbox/mailboxes', {
      name: 'Password',
      localPart: 'password',
      smtp: { host: 'smtp.provider.test', port: 587, user: 'agent', password: 'la-vera-password' },
    });
    for (const smtp of [
      { host: 'smtp.attacker.test' },
      { host: 'smtp.attacker.test', port: 587, user: 'agent' },
      { host: 'smtp.provider.test', port: 2525 },
      { host: 'smtp.provider.test', user: 'someone-else' },
    ]) {
      const res = await demo.call('PATCH', `/api/inbox/mailboxes/${box.id}`, { smtp });
      expect(res.status, JSON.stringify(smtp)).toBe(400);
      const error = (await body(res)).error;
      expect(error.code).toBe('password_required');
      expect(error.fields).toHaveProperty(['smtp.password']);
    }
    const kept = await demo.json('GET', `/api/inbox/mailboxes/${box.id}`);
    expect(kept.smtp).toEqual({
      host: 'smtp.provider.test',
      port: 587,
      secure: false,
      user: 'agent',
      hasPassword: true,
    });
    // Same server: the password stays; another server with its own password: fine.
    const same = await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
      smtp: { host: 'smtp.provider.test', port: 587, user: 'agent' },
    });
    expect(same.smtp.hasPassword).toBe(true);
    const moved = await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
      smtp: { host: 'smtp.attacker.test', password: 'another-password' },
    });
    expect(moved.smtp).toMatchObject({ host: 'smtp.attacker.test', user: 'agent', hasPassword: true });
  });
});

describe('DKIM keys', () => {
  it('are refused under 2048 bits (RSA)', async () => {
    const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Dkim', localPart: 'dkim' });
    const key = (modulusLength: number) =>
      generateKeyPairSync('rsa', {
        modulusLength,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      }).privateKey;
    const weak = await demo.call('PATCH', `/api/inbox/mailboxes/${box.id}`, {
      dkim: { selector: 'weak', privateKey: key(1024) },
    });
    expect(weak.status).toBe(400);
    const error = (await body(weak)).error;
    expect(error.code).toBe('validation_failed');
    expect(error.fields['dkim.privateKey']).toMatch(/2048/);
    expect((await demo.json('GET', `/api/inbox/mailboxes/${box.id}`)).dkim).toBeNull();
    const strong = await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
      dkim: { selector: 'strong', privateKey: key(2048) },
    });
    expect(strong.dkim).toMatchObject({ selector: 'strong', hasPrivateKey: true });

    // A weak key stored before they were refused signs nothing; the strong one signs.
    const send = async (subject: string) => {
      const sent = await demo.json(
        'POST',
        '/api/inbox/messages',
        { mailboxId: box.id, to: 'someone@example.test', subject, body: 'x' },
        202,
      );
      await settled(sent.conversationId, sent.id, 'sent');
      return readOutbox(filo.services.mailer.outboxDir!).find((m) => m.raw.includes(`Subject: ${subject}`))!.raw;
    };
    const signed = await send('Firmato forte');
    expect(signed).toMatch(/^DKIM-Signature:/m);
    expect(signed).toContain('s=strong');
    const weakEnc = new Secrets(filo.config.secretKey).encrypt(key(1024), 'mailbox.dkim_private_key');
    await sql(`update mailboxes set dkim_private_key_enc = $1 where id = $2`, [weakEnc, box.id]);
    expect(await send('Firmato debole')).not.toMatch(/^DKIM-Signature:/m);
  });
});

describe('sending addresses', () => {
  it('outside the inbound domain need a domain verified by its DNS TXT token', async () => {
    const txt = new Map<string, string[][]>();
    filo.services.sendingDomains.resolveTxt = async (name) => {
      const records = txt.get(name);
      if (!records) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return records;
    };
    const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Brand', localPart: 'brand' });
    const spoof = await demo.call('PATCH', `/api/inbox/mailboxes/${box.id}`, { address: 'security@paypal.example' });
    expect(spoof.status).toBe(400);
    expect((await body(spoof)).error).toMatchObject({
      code: 'sender_not_verified',
      fields: { address: expect.any(String) },
    });
    const created = await demo.call('POST', '/api/inbox/mailboxes', {
      name: 'Spoof',
      localPart: 'spoof',
      address: 'ceo@bank.example',
    });
    expect(created.status).toBe(400);
    expect((await body(created)).error.code).toBe('sender_not_verified');
    // Its own inbound domain needs nothing.
    const own = await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
      address: 'brand@demo.inbound.localhost',
    });
    expect(own.address).toBe('brand@demo.inbound.localhost');

    // Members cannot add domains; admins add one and get the record to publish.
    expect((await sara.call('POST', '/api/inbox/sending-domains', { domain: 'negozio.example' })).status).toBe(403);
    const domain = await demo.json('POST', '/api/inbox/sending-domains', { domain: 'Negozio.Example' });
    expect(domain).toMatchObject({
      domain: 'negozio.example',
      status: 'pending',
      record: {
        type: 'TXT',
        name: '_filo.negozio.example',
        value: expect.stringMatching(/^filo-verification=\w{32,}$/),
      },
    });
    expect((await demo.call('POST', '/api/inbox/sending-domains', { domain: 'negozio.example' })).status).toBe(409);
    expect((await demo.call('POST', '/api/inbox/sending-domains', { domain: 'not a domain' })).status).toBe(400);
    // Not yet published, or published with another token: still pending, and the address is still refused.
    txt.set('negozio.example', [['v=spf1 -all'], ['filo-verification=', 'somebody-elses-token']]);
    const pending = await demo.json('POST', `/api/inbox/sending-domains/${domain.id}/verify`, undefined, 200);
    expect(pending).toMatchObject({
      status: 'pending',
      verifiedAt: null,
      lastError: expect.stringContaining('_filo.negozio.example'),
    });
    const early = await demo.call('PATCH', `/api/inbox/mailboxes/${box.id}`, { address: 'info@negozio.example' });
    expect(early.status).toBe(400);
    // Published (split in two strings, as long TXT records are): verified.
    const [prefix, token] = domain.record.value.split('=');
    txt.set('_filo.negozio.example', [[`${prefix}=`, token]]);
    const verified = await demo.json('POST', `/api/inbox/sending-domains/${domain.id}/verify`, undefined, 200);
    expect(verified).toMatchObject({ status: 'verified', verifiedAt: expect.any(String), lastError: null });
    const listed = await sara.json('GET', '/api/inbox/sending-domains');
    expect(listed.items.map((d: { domain: string; status: string }) => [d.domain, d.status])).toEqual([
      ['negozio.example', 'verified'],
    ]);
    for (const address of ['info@negozio.example', 'news@mail.negozio.example']) {
      const ok = await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, { address });
      expect(ok.address).toBe(address);
    }
    const sent = await demo.json(
      'POST',
      '/api/inbox/messages',
      { mailboxId: box.id, to: 'cliente@example.test', subject: 'Dal dominio verificato', body: 'Ciao' },
      202,
    );
    await settled(sent.conversationId, sent.id, 'sent');
    // A lookalike is not covered by it.
    expect(
      (await demo.call('PATCH', `/api/inbox/mailboxes/${box.id}`, { address: 'x@evilnegozio.example' })).status,
    ).toBe(400);

    // Another workspace verifying paypal.example lets only that workspace use it.
    const other = await signup('Paypal Finto', 'owner@finto.example');
    const theirs = await other.json('POST', '/api/inbox/sending-domains', { domain: 'paypal.example' });
    txt.set('paypal.example', [[theirs.record.value]]);
    expect((await other.json('POST', `/api/inbox/sending-domains/${theirs.id}/verify`, undefined, 200)).status).toBe(
      'verified',
    );
    expect(
      (await demo.call('PATCH', `/api/inbox/mailboxes/${box.id}`, { address: 'security@paypal.example' })).status,
    ).toBe(400);
    expect((await demo.call('DELETE', `/api/inbox/sending-domains/${theirs.id}`)).status).toBe(404);

    // Removing the domain stops mail from it, even from a mailbox that already has such an address.
    await demo.json('DELETE', `/api/inbox/sending-domains/${domain.id}`);
    const refused = await demo.call('POST', '/api/inbox/messages', {
      mailboxId: box.id,
      to: 'cliente@example.test',
      subject: 'Non più',
      body: 'x',
    });
    expect(refused.status).toBe(400);
    expect((await body(refused)).error.code).toBe('sender_not_verified');
    expect(await sql(`select id from conversations where subject = 'Non più'`)).toEqual([]);
  });
});

describe('templates sent by auto-reply rules', () => {
  it('are changed only by admins; members change only their own templates', async () => {
    const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Rules', localPart: 'rules' });
    const admins = await demo.json('POST', '/api/inbox/templates', { name: 'Chiusi', body: 'Siamo chiusi.' });
    await demo.json('POST', `/api/inbox/mailboxes/${box.id}/rules`, {
      name: 'Sempre',
      actions: { autoReplyTemplateId: admins.id },
    });
    for (const [method, payload] of [
      ['PATCH', { body: 'Mandate i dati della carta a http://evil.example' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await sara.call(method, `/api/inbox/templates/${admins.id}`, payload);
      expect(res.status, method).toBe(403);
      expect((await body(res)).error.code).toBe('forbidden');
    }
    expect((await demo.json('GET', `/api/inbox/templates/${admins.id}`)).body).toBe('Siamo chiusi.');

    // Her own template she edits, until an admin's rule sends it.
    const hers = await sara.json('POST', '/api/inbox/templates', { name: 'Mio', body: 'Ciao' });
    expect((await sara.json('PATCH', `/api/inbox/templates/${hers.id}`, { body: 'Ciao!' })).body).toBe('Ciao!');
    await demo.json('POST', `/api/inbox/mailboxes/${box.id}/rules`, {
      name: 'Anche il suo',
      actions: { autoReplyTemplateId: hers.id },
    });
    expect((await sara.call('PATCH', `/api/inbox/templates/${hers.id}`, { body: 'Cambiato' })).status).toBe(403);
    // Admins still edit both.
    expect((await demo.json('PATCH', `/api/inbox/templates/${admins.id}`, { body: 'Chiusi oggi.' })).body).toBe(
      'Chiusi oggi.',
    );
    const another = await sara.json('POST', '/api/inbox/templates', { name: 'Bozza', body: 'x' });
    await sara.json('DELETE', `/api/inbox/templates/${another.id}`);
  });
});
