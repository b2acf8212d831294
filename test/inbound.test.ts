import { execFile } from 'node:child_process';
import net from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import pg from 'pg';
import type Mail from 'nodemailer/lib/mailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboundStore } from '../mail-gateway/inbound-store.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

const run = promisify(execFile);
let filo: TestFilo;
let demo: ApiClient;
let support: { id: string; inboundAddress: string };

beforeAll(async () => {
  filo = await startTestFilo({ SMTP_MAX_SIZE: String(256 * 1024), SMTP_MAX_RECIPIENTS: '3' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
});
afterAll(() => filo?.close());

const smtp = () =>
  nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, secure: false, ignoreTLS: true });

/** Sends one message: the final reply code, and the codes of the recipients the server refused. */
async function deliver(message: Mail.Options): Promise<{ code: number; response: string; refused: number[] }> {
  const transport = smtp();
  try {
    const info = (await transport.sendMail(message)) as {
      response: string;
      rejectedErrors?: { responseCode?: number }[];
    };
    const refused = (info.rejectedErrors ?? []).map((e) => e.responseCode ?? 0);
    return { code: Number(info.response.slice(0, 3)), response: info.response, refused };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; message: string };
    return { code: e.responseCode ?? 0, response: e.response ?? e.message, refused: [] };
  } finally {
    transport.close();
  }
}

interface ConversationItem {
  id: string;
  subject: string;
  messageCount: number;
  contactId: string | null;
  companyId: string | null;
}

/** Waits until a conversation with this subject shows `count` messages (processing is a background job). */
async function conversation(subject: string, count = 1): Promise<ConversationItem> {
  let found: ConversationItem | undefined;
  await expect
    .poll(
      async () => {
        const page = await demo.json<{ items: ConversationItem[] }>('GET', '/api/inbox/conversations?limit=100');
        found = page.items.find((c) => c.subject === subject);
        return found?.messageCount ?? 0;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(count);
  return found!;
}

describe('mailboxes', () => {
  it('gives each mailbox an inbound address on the workspace subdomain', () => {
    expect(support.inboundAddress).toBe('support@demo.inbound.localhost');
  });

  it('refuses a taken or malformed local part, and members cannot create one', async () => {
    const dup = await demo.call('POST', '/api/inbox/mailboxes', { name: 'Again', localPart: 'Support' });
    expect(dup.status).toBe(409);
    const bad = await demo.call('POST', '/api/inbox/mailboxes', { name: 'Bad', localPart: 'no spaces' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { fields: object } }).error.fields).toHaveProperty('localPart');
    const sara = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }),
    );
    expect((await sara.call('POST', '/api/inbox/mailboxes', { name: 'Mine', localPart: 'mine' })).status).toBe(403);
  });

  it('renames, restricts to members, and deletes (after which its address is refused)', async () => {
    const sales = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Sales', localPart: 'sales' });
    const renamed = await demo.json('PATCH', `/api/inbox/mailboxes/${sales.id}`, { name: 'Vendite' });
    expect(renamed).toMatchObject({ name: 'Vendite', localPart: 'sales', version: 2 });
    const me = (await demo.json('GET', '/api/auth/me')).user.id as string;
    await demo.json('PATCH', `/api/inbox/mailboxes/${sales.id}`, { memberIds: [me] });
    const sara = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }),
    );
    const seen = await sara.json<{ items: { id: string }[] }>('GET', '/api/inbox/mailboxes');
    expect(seen.items.map((m) => m.id)).not.toContain(sales.id);
    expect(seen.items.map((m) => m.id)).toContain(support.id);
    expect((await sara.call('GET', `/api/inbox/mailboxes/${sales.id}`)).status).toBe(404);
    await demo.json('DELETE', `/api/inbox/mailboxes/${sales.id}`);
    const refused = await deliver({ from: 'x@example.com', to: sales.inboundAddress, subject: 's', text: 't' });
    expect(refused.code).toBe(550);
  });
});

describe('SMTP gateway', () => {
  it('refuses unknown local addresses (550 5.1.1) and other domains (550 5.7.1: no relay), with swaks', async () => {
    const swaks = async (to: string) => {
      const result = await run(
        'swaks',
        ['--server', `127.0.0.1:${filo.smtpPort}`, '--to', to, '--from', 'a@example.com'],
        {
          timeout: 20_000,
        },
      ).catch((err: { stdout: string }) => err);
      return result.stdout;
    };
    const unknown = await swaks('nobody@demo.inbound.localhost');
    expect(unknown).toMatch(/<- {2}220 .*Filo mail gateway/);
    expect(unknown).toMatch(/<- {2}250[- ]SIZE 262144/);
    expect(unknown).toMatch(/<\*\* 550 5\.1\.1 /);
    expect(await swaks('someone@example.org')).toMatch(/<\*\* 550 5\.7\.1 Relaying denied/);
    expect(await swaks('support@nosuchworkspace.inbound.localhost')).toMatch(/<\*\* 550 5\.1\.1 /);
  });

  it('answers 452 past the recipient limit and 552 to a message over SIZE, and keeps nothing of it', async () => {
    const boxes = [support];
    for (const name of ['one', 'two', 'three'])
      boxes.push(await demo.json('POST', '/api/inbox/mailboxes', { name, localPart: name }));
    const many = await deliver({
      from: 'a@example.com',
      to: boxes.map((b) => b.inboundAddress),
      subject: 'many',
      text: 'x',
    });
    // The first three are taken, the fourth is answered 452 (nodemailer still delivers to the three).
    expect(many.refused).toEqual([452]);
    const big = await deliver({
      from: 'a@example.com',
      to: support.inboundAddress,
      subject: 'Too big',
      text: 'x'.repeat(300 * 1024),
    });
    expect(big.code).toBe(552);
    const page = await demo.json<{ items: ConversationItem[] }>('GET', '/api/inbox/conversations?limit=100');
    expect(page.items.find((c) => c.subject === 'Too big')).toBeUndefined();
  });

  it('accepts with swaks and shows the message, byte for byte as sent', async () => {
    const result = await run(
      'swaks',
      [
        '--server',
        `127.0.0.1:${filo.smtpPort}`,
        '--to',
        support.inboundAddress,
        '--from',
        'paolo@example.net',
        '--header',
        'Subject: Swaks says hi',
        '--body',
        'Ciao dal terminale',
      ],
      { timeout: 20_000 },
    );
    expect(result.stdout).toMatch(/<- {2}250 2\.0\.0 Ok: queued as [0-9a-f-]{36}/);
    const found = await conversation('Swaks says hi');
    const detail = await demo.json('GET', `/api/inbox/conversations/${found.id}`);
    expect(detail.messages[0].text).toContain('Ciao dal terminale');
    const raw = await demo.call('GET', detail.messages[0].raw);
    expect(raw.headers.get('content-type')).toBe('message/rfc822');
    const bytes = Buffer.from(await raw.arrayBuffer());
    expect(bytes.toString()).toContain('Subject: Swaks says hi');
  });
});

describe('processing', () => {
  it('links mail to the existing contact and company and puts it on their timelines', async () => {
    const company = await demo.json('POST', '/api/crm/companies', {
      name: 'Brembo Test',
      type: 'client',
      website: 'https://www.brembo-test.it/',
    });
    const contact = await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Giulia',
      lastName: 'Verdi',
      email: 'giulia.verdi@brembo-test.it',
      companyId: company.id,
    });
    const sent = await deliver({
      from: '"Giulia Verdi" <Giulia.Verdi@brembo-test.it>',
      to: support.inboundAddress,
      subject: 'Ordine 42',
      text: 'Buongiorno, confermo l’ordine.',
      messageId: '<ordine-42@brembo-test.it>',
    });
    expect(sent.code).toBe(250);
    const found = await conversation('Ordine 42');
    expect(found).toMatchObject({ contactId: contact.id, companyId: company.id });
    const timeline = await demo.json('GET', `/api/crm/timeline?entityType=company&entityId=${company.id}`);
    const entry = timeline.items.find((a: { type: string }) => a.type === 'email.received');
    expect(entry).toMatchObject({
      entityType: 'contact',
      entityId: contact.id,
      title: 'Email from Giulia Verdi: Ordine 42',
    });
    expect(entry.data).toMatchObject({ conversationId: found.id, messageId: 'ordine-42@brembo-test.it' });

    // A reply (In-Reply-To) joins the conversation, even with another subject.
    await deliver({
      from: 'giulia.verdi@brembo-test.it',
      to: support.inboundAddress,
      subject: 'Altra cosa',
      text: 'Dimenticavo',
      inReplyTo: '<ordine-42@brembo-test.it>',
      references: ['<ordine-42@brembo-test.it>'],
    });
    // And so does a message with the same subject (Re:) from a participant within 30 days.
    await deliver({
      from: 'giulia.verdi@brembo-test.it',
      to: support.inboundAddress,
      subject: 'RE: [ext] Ordine 42',
      text: 'Ancora io',
    });
    const thread = await conversation('Ordine 42', 3);
    const detail = await demo.json('GET', `/api/inbox/conversations/${thread.id}`);
    expect(detail.messages.map((m: { text: string }) => m.text.trim())).toEqual([
      'Buongiorno, confermo l’ordine.',
      'Dimenticavo',
      'Ancora io',
    ]);
  });

  it('makes a contact of an unknown sender, linked to the company of their domain', async () => {
    const company = await demo.json('POST', '/api/crm/companies', {
      name: 'Lavazza Test',
      type: 'client',
      website: 'http://lavazza-test.com',
    });
    await deliver({
      from: '"Rossi, Marco" <marco@lavazza-test.com>',
      to: support.inboundAddress,
      subject: 'Preventivo',
      text: 'Salve',
    });
    const found = await conversation('Preventivo');
    expect(found.companyId).toBe(company.id);
    const contact = await demo.json('GET', `/api/crm/contacts/${found.contactId}`);
    expect(contact).toMatchObject({
      firstName: 'Marco',
      lastName: 'Rossi',
      email: 'marco@lavazza-test.com',
      companyId: company.id,
    });
  });

  it('never links a freemail sender to a company by domain', async () => {
    await demo.json('POST', '/api/crm/companies', {
      name: 'Gmail Inc Test',
      type: 'client',
      website: 'https://gmail.com',
    });
    await deliver({ from: 'someone.private@gmail.com', to: support.inboundAddress, subject: 'Da privato', text: 'x' });
    expect((await conversation('Da privato')).companyId).toBeNull();
  });

  it('sanitizes hostile HTML, keeps remote images off, and serves cid: images from the attachments', async () => {
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    await deliver({
      from: 'attacker@evil.test',
      to: support.inboundAddress,
      subject: 'Hostile HTML',
      html: `<p onclick="steal()">Hi<script>alert(1)</script></p><img src="https://tracker.evil.test/p.gif"><img src="cid:logo@x"><a href="javascript:alert(2)">x</a><form action="https://evil.test"><input name=p></form>`,
      attachments: [{ filename: 'logo.png', content: png, cid: 'logo@x', contentType: 'image/png' }],
    });
    const found = await conversation('Hostile HTML');
    const [message] = (await demo.json('GET', `/api/inbox/conversations/${found.id}`)).messages;
    expect(message.html).not.toMatch(/script|onclick|javascript:|<form|<input/i);
    expect(message.html).not.toMatch(/\ssrc="https:\/\/tracker/);
    expect(message.html).toContain('data-remote-src="https://tracker.evil.test/p.gif"');
    expect(message.hasRemoteImages).toBe(true);
    const cid = message.html.match(/src="(\/api\/inbox\/messages\/[^"]+\/cid\/[^"]+)"/)![1];
    const image = await demo.call('GET', cid);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await image.arrayBuffer()).equals(png)).toBe(true);
  });

  it('stores authentication verdicts from a local DNS', async () => {
    filo.services.inbound.resolver = async (name, rrtype) => {
      if (rrtype === 'TXT' && name === 'spf-pass.test') return [['v=spf1 ip4:127.0.0.1 -all']];
      if (rrtype === 'TXT' && name === '_dmarc.spf-pass.test') return [['v=DMARC1; p=none']];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    await deliver({
      from: 'bob@spf-pass.test',
      envelope: { from: 'bob@spf-pass.test', to: support.inboundAddress },
      to: support.inboundAddress,
      subject: 'SPF check',
      text: 'x',
    });
    const found = await conversation('SPF check');
    const [message] = (await demo.json('GET', `/api/inbox/conversations/${found.id}`)).messages;
    expect(message.auth).toMatchObject({ spf: 'pass', dkim: 'none' });
  });
});

describe('bounces, auto-replies and failures', () => {
  const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const client = new pg.Client({ connectionString: filo.databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  };
  it('marks the contact of a permanent bounce as bouncing, and threads nothing', async () => {
    const contact = await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Gone',
      lastName: 'Away',
      email: 'gone.away@bounce-test.example',
    });
    const before = await query<{ n: number }>(`select count(*)::int as n from conversations`);
    const dsn = [
      'From: MAILER-DAEMON@mx.bounce-test.example',
      `To: ${support.inboundAddress}`,
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <dsn-1@mx.bounce-test.example>',
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
      'Reporting-MTA: dns; mx.bounce-test.example',
      '',
      'Final-Recipient: rfc822; gone.away@bounce-test.example',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
      '',
      '--b1--',
      '',
    ].join('\r\n');
    const sent = await deliver({ envelope: { from: '', to: support.inboundAddress }, raw: dsn });
    expect(sent.code).toBe(250);
    await expect
      .poll(async () => (await demo.json('GET', `/api/crm/contacts/${contact.id}`)).emailBouncedAt, {
        timeout: 20_000,
        interval: 100,
      })
      .toBeTruthy();
    const timeline = await demo.json<{ items: { type: string }[] }>(
      'GET',
      `/api/crm/timeline?entityType=contact&entityId=${contact.id}`,
    );
    expect(timeline.items.map((a) => a.type)).toContain('email.bounced');
    const [row] = await query<{ classification: string; status: string }>(
      `select classification, status from inbound_messages where details->>'status' = '5.1.1'`,
    );
    expect(row).toEqual({ classification: 'bounce', status: 'processed' });
    expect((await query<{ n: number }>(`select count(*)::int as n from conversations`))[0]!.n).toBe(before[0]!.n);
  });

  it('records an out-of-office about nothing we sent without making a conversation of it', async () => {
    await deliver({
      from: 'holiday@ooo-test.example',
      to: support.inboundAddress,
      subject: 'Out of office: back on Monday',
      text: 'I am away.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    await expect
      .poll(
        async () =>
          (
            await query<{ classification: string }>(
              `select classification from inbound_messages where details->>'subject' = 'Out of office: back on Monday'`,
            )
          )[0]?.classification,
        { timeout: 20_000, interval: 100 },
      )
      .toBe('auto_reply');
    const page = await demo.json<{ items: { subject: string }[] }>('GET', '/api/inbox/conversations?limit=100');
    expect(page.items.map((c) => c.subject)).not.toContain('Out of office: back on Monday');
  });

  it('leaves unknown senders unlinked when the mailbox does not make contacts', async () => {
    const quiet = await demo.json('POST', '/api/inbox/mailboxes', {
      name: 'Quiet',
      localPart: 'quiet',
      createContacts: false,
    });
    await deliver({ from: 'stranger@no-contact.example', to: quiet.inboundAddress, subject: 'No contact', text: 'x' });
    expect((await conversation('No contact')).contactId).toBeNull();
    const contacts = await demo.json<{ items: unknown[] }>('GET', '/api/crm/contacts?q=stranger%40no-contact.example');
    expect(contacts.items).toHaveLength(0);
  });

  it('keeps a message that failed to process with its error and raw form, half-written nowhere, and retries it', async () => {
    // A storage failure in the middle of the write (after the conversation row, at the message row).
    await query(`create function fail_marked_mail() returns trigger language plpgsql as $$
      begin
        if new.subject like '%[fail-me]%' then raise exception 'simulated storage failure'; end if;
        return new;
      end $$`);
    await query(
      `create trigger fail_marked_mail before insert on messages for each row execute function fail_marked_mail()`,
    );
    const raw = 'From: Anna <anna@retry-test.example>\r\nTo: x@y\r\nSubject: Order [fail-me]\r\n\r\nHello\r\n';
    try {
      expect(
        (await deliver({ envelope: { from: 'anna@retry-test.example', to: support.inboundAddress }, raw })).code,
      ).toBe(250);
      let failed: { id: string; error: string; raw: string }[] = [];
      await expect
        .poll(
          async () => {
            failed = (await demo.json<{ items: typeof failed }>('GET', '/api/inbox/failed')).items;
            return failed.length;
          },
          { timeout: 20_000, interval: 100 },
        )
        .toBe(1);
      expect(failed[0]!.error).toContain('simulated storage failure');
      expect(await (await demo.call('GET', failed[0]!.raw)).text()).toBe(raw);
      const convs = await query<{ n: number }>(
        `select count(*)::int as n from conversations where subject like '%fail-me%'`,
      );
      expect(convs[0]!.n).toBe(0);
      const contacts = await query<{ n: number }>(
        `select count(*)::int as n from contacts where email = 'anna@retry-test.example'`,
      );
      expect(contacts[0]!.n).toBe(0);
    } finally {
      await query(`drop trigger fail_marked_mail on messages`);
      await query(`drop function fail_marked_mail()`);
    }
    const [failedRow] = (await demo.json<{ items: { id: string }[] }>('GET', '/api/inbox/failed')).items;
    const sara = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }),
    );
    expect((await sara.call('POST', `/api/inbox/inbound/${failedRow!.id}/retry`, {})).status).toBe(403);
    expect((await demo.call('POST', `/api/inbox/inbound/${failedRow!.id}/retry`, {})).status).toBe(202);
    const found = await conversation('Order [fail-me]');
    expect(found.contactId).not.toBeNull();
    expect((await demo.json<{ items: unknown[] }>('GET', '/api/inbox/failed')).items).toHaveLength(0);
    const again = await demo.call('POST', `/api/inbox/inbound/${failedRow!.id}/retry`, {});
    expect(again.status).toBe(409);
  });
});

describe('group commit of accepted messages', () => {
  it('writes concurrent messages together, and one that cannot be written fails alone', async () => {
    const store = new InboundStore(filo.databaseUrl, filo.jobs!.boss, 2);
    const tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id as string;
    const message = (mailboxId: string, i: number) => ({
      routes: [{ tenantId, mailboxId }],
      mailFrom: `group${i}@example.com`,
      rcptTo: [support.inboundAddress],
      remoteAddress: '127.0.0.1',
      heloName: 'test',
      size: 1,
      sha256: 'x'.repeat(64),
      spoolKey: `group-commit/${i}.eml`,
    });
    try {
      // 40 at once: all but the first wait for the first commit and go in together; #7 names no mailbox.
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          store.accept(message(i === 7 ? '00000000-0000-4000-8000-000000000000' : support.id, i)),
        ),
      );
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
      expect(results[7]!.status).toBe('rejected');
      const ids = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      expect(new Set(ids).size).toBe(39);
      const client = new pg.Client({ connectionString: filo.databaseUrl });
      await client.connect();
      try {
        const rows = await client.query(`select id from inbound_messages where spool_key like 'group-commit/%'`);
        expect(rows.rows.map((r: { id: string }) => r.id).sort()).toEqual([...ids].sort());
        const jobs = await client.query(`select count(*)::int as n from pgboss.job where id = any($1::uuid[])`, [ids]);
        expect(jobs.rows[0].n).toBe(39);
      } finally {
        await client.end();
      }
    } finally {
      await store.close();
    }
  });
});

describe('STARTTLS', () => {
  let tls: TestFilo;
  beforeAll(async () => {
    const dir = filo.config.dataDir;
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      `${dir}/key.pem`,
      '-out',
      `${dir}/cert.pem`,
    ]);
    tls = await startTestFilo({ SMTP_TLS_CERT: `${dir}/cert.pem`, SMTP_TLS_KEY: `${dir}/key.pem` });
  });
  afterAll(() => tls?.close());

  it('offers STARTTLS and delivers over TLS with a self-signed certificate', async () => {
    const owner = apiClient(tls.baseUrl, await login(tls.baseUrl));
    const box = await owner.json('POST', '/api/inbox/mailboxes', { name: 'TLS', localPart: 'tls' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: tls.smtpPort!,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({
      from: 'a@example.com',
      to: box.inboundAddress,
      subject: 'Over TLS',
      text: 'secret',
    });
    transport.close();
    expect(info.response).toMatch(/^250 /);
  });

  it('discards commands pipelined before STARTTLS (no plaintext injection)', async () => {
    const owner = apiClient(tls.baseUrl, await login(tls.baseUrl));
    const box = (await owner.json<{ items: { inboundAddress: string }[] }>('GET', '/api/inbox/mailboxes')).items[0]!;
    const plain = net.connect(tls.smtpPort!, '127.0.0.1');
    const reader = lineReader(plain);
    expect(await reader.line()).toMatch(/^220 /);
    plain.write('EHLO attacker\r\n');
    expect(await reader.reply()).toContain('STARTTLS');
    // One packet: STARTTLS and a MAIL FROM an attacker in the path could have appended.
    plain.write('STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n');
    expect(await reader.line()).toMatch(/^220 /);
    reader.stop();
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise((resolve) => secure.once('secureConnect', resolve));
    const inside = lineReader(secure);
    secure.write('EHLO client\r\n');
    expect(await inside.reply()).toMatch(/^250[- ]/);
    // Had the injected MAIL FROM been kept, this RCPT would be accepted; without a MAIL it is a bad sequence.
    secure.write(`RCPT TO:<${box.inboundAddress}>\r\n`);
    expect(await inside.reply()).toMatch(/^503 /);
    secure.destroy();
  });
});

/** Reads CRLF lines (and multi-line replies) from a socket. */
function lineReader(socket: net.Socket | TLSSocket) {
  let buffer = '';
  const waiting: (() => void)[] = [];
  const onData = (d: Buffer) => {
    buffer += d.toString('latin1');
    waiting.splice(0).forEach((w) => w());
  };
  socket.on('data', onData);
  const line = async (): Promise<string> => {
    for (;;) {
      const i = buffer.indexOf('\r\n');
      if (i >= 0) {
        const out = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        return out;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  return {
    line,
    async reply() {
      const lines: string[] = [];
      do lines.push(await line());
      while (/^\d{3}-/.test(lines.at(-1)!));
      return lines.join('\n');
    },
    stop: () => socket.off('data', onData),
  };
}
