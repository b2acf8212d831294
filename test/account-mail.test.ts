import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailAccountFolderSchema } from '../db/entities/email-account-folder.entity.ts';
import { EmailAccountSchema } from '../db/entities/email-account.entity.ts';
import { InboundMessageSchema } from '../db/entities/inbound-message.entity.ts';
import { MailboxSchema } from '../db/entities/mailbox.entity.ts';
import { INBOUND_QUEUE } from '../mail-gateway/inbound-store.ts';
import { IMAP_PASSWORD } from '../server/accounts/connect.ts';
import { MARK_SEEN_QUEUE } from '../server/accounts/read-state.jobs.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { startDovecot, type Dovecot } from './support/dovecot.ts';
import {
  apiClient,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

let filo: TestFilo;
let dovecot: Dovecot;
let demo: ApiClient;
let sara: ApiClient;
let tenantId: string;
const users: Record<'demo' | 'mario' | 'sara', { id: string; name: string }> = {} as never;
const IMAP_USER = { user: 'mario@imap.test', password: 'mario-imap-secret' };

/** SQL as the schema owner, across workspaces (users, the job table). */
const asOwner = async <T = Record<string, unknown>>(query: string, values: unknown[] = []) =>
  (await filo.jobs!.boss.getDb().executeSql(query, values)).rows as T[];

/** SQL in the demo workspace (row-level security applies, as for the app). */
const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(tenantId), ({ em }) => em.execute(query, params)) as Promise<T[]>;

interface Account {
  id: string;
  mailboxId: string;
  inbox: string;
  sent: string;
}

/** An account row (and its mailbox and INBOX/Sent folders) as the accounts service would leave it. */
async function account(opts: {
  owner: string;
  email: string;
  aliases?: string[];
  mirror?: boolean;
  /** Seen only by its owner (as the accounts service makes a private account). */
  private?: boolean;
  imap?: { port: number; user: string; password: string; uidValidity: number };
}): Promise<Account> {
  const secrets = new Secrets(filo.config.secretKey);
  return inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
    const mailbox = em.create(MailboxSchema, {
      tenantId,
      name: opts.email,
      kind: 'account',
      localPart: `account-${randomUUID().slice(0, 8)}`,
      ...(opts.private ? { private: true, memberIds: [opts.owner] } : {}),
    });
    const row = em.create(EmailAccountSchema, {
      tenantId,
      mailboxId: mailbox.id,
      ownerId: opts.owner,
      email: opts.email,
      aliases: opts.aliases ?? [],
      imapHost: '127.0.0.1',
      imapPort: opts.imap?.port ?? 993,
      imapSecurity: opts.imap ? 'none' : 'tls',
      imapUser: opts.imap?.user ?? opts.email,
      imapPasswordEnc: opts.imap ? secrets.encrypt(opts.imap.password, IMAP_PASSWORD) : null,
      smtpHost: '127.0.0.1',
      smtpPort: 465,
      smtpUser: opts.email,
      mirrorReadState: opts.mirror ?? false,
      // the test fetches in the sync engine's stead: the engine leaves a disabled account alone
      enabled: false,
      status: 'paused',
    });
    const uidValidity = opts.imap?.uidValidity ?? 1;
    const folder = (path: string, specialUse: string) =>
      em.create(EmailAccountFolderSchema, { tenantId, accountId: row.id, path, specialUse, uidValidity });
    const inbox = folder('INBOX', 'inbox');
    const sent = folder('Sent', 'sent');
    await em.flush();
    return { id: row.id, mailboxId: mailbox.id, inbox: inbox.id, sent: sent.id };
  });
}

let nextUid = 1;

/**
 * Messages as the sync engine leaves them once their bodies are fetched: the raw bytes in the spool, then the
 * inbound rows and their processing jobs in one transaction (all of them at once: their jobs run concurrently).
 */
async function fetched(
  items: { account: Account; folder?: 'inbox' | 'sent'; raw: string | Buffer; mailFrom?: string; uid?: number }[],
): Promise<string[]> {
  const spooled = await Promise.all(
    items.map((i) => filo.services.spool.write(Readable.from([Buffer.from(i.raw)]), 10 * 1024 * 1024)),
  );
  return inTenant(filo.orm, systemActor(tenantId), async (uow) => {
    const rows = items.map((item, n) => {
      const folderId = item.folder === 'sent' ? item.account.sent : item.account.inbox;
      return uow.em.create(InboundMessageSchema, {
        tenantId,
        mailboxId: item.account.mailboxId,
        mailFrom: item.mailFrom ?? null,
        rcptTo: [],
        size: spooled[n]!.size,
        sha256: spooled[n]!.sha256,
        spoolKey: spooled[n]!.key,
        accountId: item.account.id,
        folderId,
        imapUidValidity: 1,
        imapUid: item.uid ?? nextUid++,
        imapFlags: [],
      });
    });
    await uow.em.flush();
    for (const row of rows) await filo.services.queue.send(INBOUND_QUEUE, { inboundId: row.id, tenantId }, { uow });
    return rows.map((r) => r.id);
  });
}

interface InboundRow {
  id: string;
  status: string;
  classification: string | null;
  email_message_id: string | null;
  details: Record<string, unknown>;
  error: string | null;
}

/** Waits until every row is processed (or failed: the test then says why). */
async function processed(ids: string[]): Promise<InboundRow[]> {
  let rows: InboundRow[] = [];
  await expect
    .poll(
      async () => {
        rows = await sql<InboundRow>(
          `select id, status, classification, email_message_id, details, error from inbound_messages where id = any(?::uuid[])`,
          [`{${ids.join(',')}}`],
        );
        return rows.filter((r) => r.status !== 'received').length;
      },
      { timeout: 30_000, interval: 100 },
    )
    .toBe(ids.length);
  for (const r of rows) expect(r.error).toBeNull();
  return ids.map((id) => rows.find((r) => r.id === id)!);
}

function mail(m: {
  from: string;
  to: string;
  cc?: string;
  subject: string;
  messageId?: string;
  text?: string;
  returnPath?: string;
  date?: Date;
}): string {
  const lines = [
    ...(m.returnPath ? [`Return-Path: <${m.returnPath}>`] : []),
    `From: ${m.from}`,
    `To: ${m.to}`,
    ...(m.cc ? [`Cc: ${m.cc}`] : []),
    `Subject: ${m.subject}`,
    `Message-ID: <${m.messageId ?? `${randomUUID()}@mail.test`}>`,
    `Date: ${(m.date ?? new Date()).toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    m.text ?? `About ${m.subject}.`,
    '',
  ];
  return lines.join('\r\n');
}

const contactsWith = (address: string) =>
  sql<{ id: string }>(`select id from contacts where lower(email) = lower(?)`, [address]);
const activitiesOf = (messageId: string) =>
  sql<{ activity_type: string; created_by: string | null; title: string; entity_id: string }>(
    `select activity_type, created_by, title, entity_id from activities where metadata->>'messageId' = ?`,
    [messageId],
  );
const messagesWith = (messageId: string) =>
  sql<{ id: string; direction: string; status: string | null; sent_by: string | null; mailbox_id: string }>(
    `select id, direction, status, sent_by, mailbox_id from messages where message_id_header = ?`,
    [messageId],
  );

beforeAll(async () => {
  [filo, dovecot] = await Promise.all([startTestFilo({ SMTP_ALLOWED_HOSTS: '127.0.0.1' }), startDovecot([IMAP_USER])]);
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
  tenantId = (await asOwner<{ id: string }>(`select id from tenants where slug = 'demo'`))[0]!.id;
  const rows = await asOwner<{ id: string; name: string; email: string }>(
    `select id, name, email from users where email in ('demo@filo.local', 'mario@filo.local', 'sara@filo.local')`,
  );
  for (const r of rows) users[r.email.split('@')[0] as 'demo' | 'mario' | 'sara'] = { id: r.id, name: r.name };
}, 60_000);
afterAll(async () => {
  await filo?.close();
  await dovecot?.stop();
});

describe('mail a member sent, found in their account', () => {
  it('is outbound, by its teammate, when From is the account or an alias, linked to its recipient', async () => {
    const acct = await account({
      owner: users.mario.id,
      email: 'mario.rossi@example.net',
      aliases: ['mr@example.org'],
    });
    const messageId = `${randomUUID()}@example.net`;
    const [row] = await processed(
      await fetched([
        {
          account: acct,
          raw: mail({
            from: 'Mario Rossi <MR@example.org>',
            to: 'Giulia Neri <giulia.neri@customer-one.test>',
            subject: 'Our offer',
            messageId,
          }),
        },
      ]),
    );
    expect(row).toMatchObject({ status: 'processed', classification: 'message' });
    const [message] = await messagesWith(messageId);
    expect(message).toMatchObject({ direction: 'outbound', status: 'sent', sent_by: users.mario.id });
    const [contact] = await contactsWith('giulia.neri@customer-one.test');
    expect(contact).toBeDefined();
    const activities = await activitiesOf(messageId);
    expect(activities).toEqual([
      expect.objectContaining({ activity_type: 'email.sent', created_by: users.mario.id, entity_id: contact!.id }),
    ]);
    expect(activities[0]!.title).toBe('Email to Giulia Neri: Our offer');
  });

  it('is outbound when it sits in the Sent folder, whatever its From, and the customer is a known recipient', async () => {
    const acct = await account({ owner: users.sara.id, email: 'sara.bianchi@example.net' });
    const known = await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Luigi',
      lastName: 'Verdi',
      email: 'luigi.verdi@customer-two.test',
    });
    const messageId = `${randomUUID()}@example.net`;
    await processed(
      await fetched([
        {
          account: acct,
          folder: 'sent',
          raw: mail({
            from: 'Sara <sara@old-address.test>',
            to: 'newcomer@customer-three.test',
            cc: 'luigi.verdi@customer-two.test',
            subject: 'Meeting notes',
            messageId,
          }),
        },
      ]),
    );
    const [message] = await messagesWith(messageId);
    expect(message).toMatchObject({ direction: 'outbound', sent_by: users.sara.id });
    // the known contact wins over the first recipient, who stays unknown
    expect(await activitiesOf(messageId)).toEqual([
      expect.objectContaining({ activity_type: 'email.sent', created_by: users.sara.id, entity_id: known.id }),
    ]);
    expect(await contactsWith('newcomer@customer-three.test')).toEqual([]);
  });

  it('keeps mail from a customer to the account inbound', async () => {
    const acct = await account({ owner: users.mario.id, email: 'mario.inbound@example.net' });
    const messageId = `${randomUUID()}@customer-four.test`;
    await processed(
      await fetched([
        {
          account: acct,
          raw: mail({ from: 'anna@customer-four.test', to: 'mario.inbound@example.net', subject: 'Hi', messageId }),
        },
      ]),
    );
    expect((await messagesWith(messageId))[0]).toMatchObject({ direction: 'inbound', sent_by: null });
    expect((await activitiesOf(messageId)).map((a) => a.activity_type)).toEqual(['email.received']);
  });
});

describe("an account's history", () => {
  it('sorts by when mail was written, not when Filo read it, newest first as a first sync reads it', async () => {
    const acct = await account({ owner: users.mario.id, email: 'mario.history@example.net' });
    const day = 86_400_000;
    const first = mail({
      from: 'Olga <olga@customer-history.test>',
      to: 'mario.history@example.net',
      subject: 'Offer',
      messageId: 'offer-1@customer-history.test',
      date: new Date(Date.now() - 10 * day),
    });
    const reply = mail({
      from: 'Olga <olga@customer-history.test>',
      to: 'mario.history@example.net',
      subject: 'Re: Offer',
      messageId: 'offer-2@customer-history.test',
      date: new Date(Date.now() - 3 * day),
    }).replace('MIME-Version', 'In-Reply-To: <offer-1@customer-history.test>\r\nMIME-Version');
    // the newer one first, as the sync reads a window newest first
    await processed(await fetched([{ account: acct, raw: reply }]));
    await processed(await fetched([{ account: acct, raw: first }]));
    const [row] = await sql<{ last: Date; ids: string[] }>(
      `select c.last_message_at as last, array(select m.message_id_header from messages m
                where m.conversation_id = c.id order by m.created_at) as ids
         from conversations c where c.mailbox_id = ?`,
      [acct.mailboxId],
    );
    expect(row!.ids).toEqual(['offer-1@customer-history.test', 'offer-2@customer-history.test']);
    const last = new Date(row!.last).getTime();
    expect(Math.abs(last - (Date.now() - 3 * day))).toBeLessThan(60_000);
  });
});

describe('one message per Message-ID', () => {
  it('makes one message and one timeline entry of the same mail in two accounts, processed at once', async () => {
    const one = await account({ owner: users.mario.id, email: 'mario.same@example.net' });
    const two = await account({ owner: users.sara.id, email: 'sara.same@example.net' });
    for (let round = 0; round < 3; round++) {
      const messageId = `${randomUUID()}@customer-five.test`;
      const raw = mail({
        from: 'Paolo <paolo@customer-five.test>',
        to: 'mario.same@example.net, sara.same@example.net',
        subject: `Order ${round}`,
        messageId,
      });
      const rows = await processed(
        await fetched([
          { account: one, raw },
          { account: two, raw },
        ]),
      );
      expect(await messagesWith(messageId)).toHaveLength(1);
      expect(await activitiesOf(messageId)).toHaveLength(1);
      const [message] = await messagesWith(messageId);
      const dups = rows.filter((r) => r.details.duplicateOf);
      expect(dups).toHaveLength(1);
      expect(dups[0]!.details.duplicateOf).toBe(message!.id);
      expect(rows.map((r) => r.email_message_id)).toEqual([message!.id, message!.id]);
    }
  });

  it("keeps the same mail in two members' private accounts as one message each, every owner seeing their own", async () => {
    const marios = await account({ owner: users.mario.id, email: 'mario.own@example.net', private: true });
    const saras = await account({ owner: users.sara.id, email: 'sara.own@example.net', private: true });
    const messageId = `${randomUUID()}@customer-nine.test`;
    const raw = mail({
      from: 'Nina <nina@customer-nine.test>',
      to: 'mario.own@example.net, sara.own@example.net',
      subject: 'Two private copies',
      messageId,
    });
    const rows = await processed(
      await fetched([
        { account: marios, raw },
        { account: saras, raw },
      ]),
    );
    expect(rows.filter((r) => r.details.duplicateOf)).toEqual([]);
    const messages = await messagesWith(messageId);
    expect(messages.map((m) => m.mailbox_id).sort()).toEqual([marios.mailboxId, saras.mailboxId].sort());
    const [contact] = await contactsWith('nina@customer-nine.test');
    const mario = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'mario@filo.local', password: 'filo-demo' }),
    );
    const entries = async (client: ApiClient) =>
      (
        (await client.json('GET', `/api/crm/timeline?entityType=contact&entityId=${contact!.id}`)).items as {
          type: string;
          data: { mailboxId?: string };
        }[]
      ).filter((a) => a.type === 'email.received');
    // each owner reads their own copy once; the workspace's owner, in neither account, reads none
    expect((await entries(mario)).map((a) => a.data.mailboxId)).toEqual([marios.mailboxId]);
    expect((await entries(sara)).map((a) => a.data.mailboxId)).toEqual([saras.mailboxId]);
    expect(await entries(demo)).toEqual([]);
  });

  it('makes no second message of the Sent copy of mail Filo sent', async () => {
    const support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
    const sentByFilo = await demo.json(
      'POST',
      '/api/inbox/messages',
      { mailboxId: support.id, to: ['carla@customer-six.test'], subject: 'Your ticket', body: 'Done.' },
      202,
    );
    const [outbound] = await sql<{ message_id_header: string; from_address: string }>(
      `select message_id_header, from_address from messages where id = ?`,
      [sentByFilo.id],
    );
    // Filo's own send records its `email.sent`: the one entry this mail ever gets
    await expect
      .poll(async () => (await activitiesOf(outbound!.message_id_header)).length, { timeout: 20_000, interval: 100 })
      .toBe(1);
    const before = await activitiesOf(outbound!.message_id_header);
    const acct = await account({ owner: users.demo.id, email: 'demo.sent@example.net' });
    const [row] = await processed(
      await fetched([
        {
          account: acct,
          folder: 'sent',
          raw: mail({
            from: `Support <${outbound!.from_address}>`,
            to: 'carla@customer-six.test',
            subject: 'Your ticket',
            messageId: outbound!.message_id_header,
          }),
        },
      ]),
    );
    expect(row!.details.duplicateOf).toBe(sentByFilo.id);
    expect(await messagesWith(outbound!.message_id_header)).toHaveLength(1);
    expect(await activitiesOf(outbound!.message_id_header)).toEqual(before);
  });
});

describe('mail kept out of the CRM', () => {
  const nothingFor = async (messageId: string, addresses: string[]) => {
    expect(await messagesWith(messageId)).toEqual([]);
    expect(await activitiesOf(messageId)).toEqual([]);
    for (const a of addresses) expect(await contactsWith(a)).toEqual([]);
  };

  it('keeps internal mail (only members, accounts and our own domains) out', async () => {
    const acct = await account({ owner: users.mario.id, email: 'mario.internal@example.net' });
    const ids = await fetched([
      {
        account: acct,
        raw: mail({
          from: 'mario.internal@example.net',
          to: 'sara@filo.local',
          subject: 'Lunch?',
          messageId: 'int-1@x',
        }),
      },
      {
        account: acct,
        raw: mail({
          from: 'Luca <luca@filo.local>',
          to: 'mario.internal@example.net',
          cc: 'support@demo.inbound.localhost',
          subject: 'Standup',
          messageId: 'int-2@x',
        }),
      },
    ]);
    const rows = await processed(ids);
    expect(rows.map((r) => r.classification)).toEqual(['internal', 'internal']);
    await nothingFor('int-1@x', ['sara@filo.local']);
    await nothingFor('int-2@x', ['luca@filo.local', 'mario.internal@example.net']);
    expect(await sql(`select id from conversations where subject in ('Lunch?', 'Standup')`)).toEqual([]);
  });

  it('keeps mail of a blocklisted domain out, received or sent', async () => {
    await demo.json('POST', '/api/inbox/blocklist', { pattern: '@Spam-Vendor.test' });
    const acct = await account({ owner: users.mario.id, email: 'mario.blocked@example.net' });
    const rows = await processed(
      await fetched([
        {
          account: acct,
          raw: mail({
            from: 'promo@spam-vendor.test',
            to: 'mario.blocked@example.net',
            subject: 'Buy',
            messageId: 'blk-1@x',
          }),
        },
        {
          account: acct,
          folder: 'sent',
          raw: mail({
            from: 'mario.blocked@example.net',
            to: 'promo@spam-vendor.test',
            subject: 'Stop',
            messageId: 'blk-2@x',
          }),
        },
      ]),
    );
    expect(rows.map((r) => r.classification)).toEqual(['blocked', 'blocked']);
    await nothingFor('blk-1@x', ['promo@spam-vendor.test']);
    await nothingFor('blk-2@x', ['promo@spam-vendor.test']);
    expect(await sql(`select id from conversations where subject in ('Buy', 'Stop')`)).toEqual([]);
  });
});

describe('authentication of fetched mail', () => {
  it('checks DKIM and DMARC from the headers and records SPF as none, never failed against our own IP', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const messageId = `${randomUUID()}@signed.test`;
    const unsigned = mail({
      from: 'Alice <alice@signed.test>',
      to: 'mario.auth@example.net',
      subject: 'Signed',
      messageId,
      returnPath: 'alice@signed.test',
    });
    const key = {
      signingDomain: 'signed.test',
      selector: 's1',
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    };
    const signature = await dkimSign(Buffer.from(unsigned), { ...key, signatureData: [key] });
    const records: Record<string, string> = {
      // SPF against 127.0.0.1 (the row's missing client IP) would fail: only 192.0.2.1 may send for signed.test
      'signed.test': 'v=spf1 ip4:192.0.2.1 -all',
      's1._domainkey.signed.test': `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
      '_dmarc.signed.test': 'v=DMARC1; p=reject',
    };
    filo.services.inbound.resolver = async (name, rrtype) => {
      const value = rrtype === 'TXT' ? records[name.toLowerCase()] : undefined;
      if (value === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return [value.match(/.{1,255}/g)];
    };
    const acct = await account({ owner: users.mario.id, email: 'mario.auth@example.net' });
    await processed(
      await fetched([{ account: acct, raw: signature.signatures + unsigned, mailFrom: 'alice@signed.test' }]),
    );
    const [message] = await sql<{ email: { auth: { spf: string; dkim: string; dmarc: string } } }>(
      `select email from messages where message_id_header = ?`,
      [messageId],
    );
    expect(message!.email.auth).toMatchObject({ spf: 'none', dkim: 'pass', dmarc: 'pass' });
  });
});

describe('blocklist routes', () => {
  it('lets admins add and remove, members only read; validates; 404 across workspaces', async () => {
    const bad = await demo.call('POST', '/api/inbox/blocklist', { pattern: 'not an address' });
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe('validation_failed');
    expect((await demo.call('POST', '/api/inbox/blocklist', { pattern: '@' })).status).toBe(400);
    expect((await demo.call('POST', '/api/inbox/blocklist', { pattern: 'a@b.test', extra: 1 })).status).toBe(400);
    const added = await demo.json('POST', '/api/inbox/blocklist', { pattern: ' Someone@Example.COM ' });
    expect(added).toMatchObject({ pattern: 'someone@example.com', createdBy: users.demo.id });
    const again = await demo.call('POST', '/api/inbox/blocklist', { pattern: 'someone@example.com' });
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toBe('already_blocked');

    const memberWrite = await sara.call('POST', '/api/inbox/blocklist', { pattern: '@sara-blocks.test' });
    expect(memberWrite.status).toBe(403);
    expect((await sara.call('DELETE', `/api/inbox/blocklist/${added.id}`)).status).toBe(403);
    const seen = await sara.json<{ items: { pattern: string }[] }>('GET', '/api/inbox/blocklist');
    expect(seen.items.map((i) => i.pattern)).toContain('someone@example.com');

    const other = apiClient(
      filo.baseUrl,
      await signUp(filo, { workspace: 'Other Co', name: 'Olga', email: 'olga@other.test', password: 'other-pass-123' }),
    );
    expect((await other.call('DELETE', `/api/inbox/blocklist/${added.id}`)).status).toBe(404);
    expect((await other.json('GET', '/api/inbox/blocklist')).items).toEqual([]);

    await demo.json('DELETE', `/api/inbox/blocklist/${added.id}`);
    expect((await demo.call('DELETE', `/api/inbox/blocklist/${added.id}`)).status).toBe(404);
    expect((await demo.call('DELETE', '/api/inbox/blocklist/not-a-uuid')).status).toBe(404);
  });
});

describe('read-state mirror', () => {
  /** Two messages in the Dovecot INBOX; the first is also fetched into Filo, the second only lives there. */
  async function mailboxWithTwo(mirror: boolean) {
    const client = await dovecot.client(IMAP_USER);
    try {
      const subject = `Mirror ${mirror ? 'on' : 'off'}`;
      const raw = mail({ from: 'dario@customer-seven.test', to: IMAP_USER.user, subject });
      const first = await client.append('INBOX', raw, []);
      const second = await client.append(
        'INBOX',
        mail({ from: 'x@customer-seven.test', to: IMAP_USER.user, subject: 'y' }),
        [],
      );
      const status = (await client.status('INBOX', { uidValidity: true })) as { uidValidity: bigint };
      const acct = await account({
        owner: users.demo.id,
        email: `${mirror ? 'on' : 'off'}.${IMAP_USER.user}`,
        mirror,
        imap: { port: dovecot.port, ...IMAP_USER, uidValidity: Number(status.uidValidity) },
      });
      await sql(`update email_account_folders set uid_validity = ? where id = ?`, [
        Number(status.uidValidity),
        acct.inbox,
      ]);
      const [row] = await fetched([{ account: acct, raw, uid: Number((first as { uid: number }).uid) }]);
      await sql(`update inbound_messages set imap_uid_validity = ? where id = ?`, [Number(status.uidValidity), row]);
      const [done] = await processed([row!]);
      const [message] = await sql<{ conversation_id: string }>(`select conversation_id from messages where id = ?`, [
        done!.email_message_id,
      ]);
      return {
        acct,
        conversationId: message!.conversation_id,
        uids: [Number((first as { uid: number }).uid), Number((second as { uid: number }).uid)],
      };
    } finally {
      await client.logout();
    }
  }

  async function seenFlags(uids: number[]): Promise<boolean[]> {
    const client = await dovecot.client(IMAP_USER);
    try {
      await client.mailboxOpen('INBOX', { readOnly: true });
      const flags: boolean[] = [];
      for (const uid of uids) {
        const msg = await client.fetchOne(String(uid), { flags: true }, { uid: true });
        flags.push(Boolean(msg && msg.flags?.has('\\Seen')));
      }
      return flags;
    } finally {
      await client.logout();
    }
  }

  const markSeenJobs = (accountId: string) =>
    asOwner(`select id from pgboss.job where name = $1 and data->>'accountId' = $2`, [MARK_SEEN_QUEUE, accountId]);

  it('sets \\Seen on exactly the UID read in Filo when the account mirrors read state', async () => {
    const { conversationId, uids } = await mailboxWithTwo(true);
    expect(await seenFlags(uids)).toEqual([false, false]);
    await demo.json('POST', `/api/inbox/conversations/${conversationId}/read`, undefined, 200);
    await expect.poll(() => seenFlags(uids), { timeout: 20_000, interval: 200 }).toEqual([true, false]);
  });

  it('never touches a flag without the switch', async () => {
    const { acct, conversationId, uids } = await mailboxWithTwo(false);
    await demo.json('POST', `/api/inbox/conversations/${conversationId}/read`, undefined, 200);
    // the job would be queued in the read's own transaction: none was
    expect(await markSeenJobs(acct.id)).toEqual([]);
    expect(await seenFlags(uids)).toEqual([false, false]);
  });
});
