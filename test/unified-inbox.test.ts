import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationChange, ConversationPage, InboxCounts, Mailbox } from '#contracts/inbox';
import type { InboxWatchAck } from '../realtime/events.ts';
import { MailboxSchema } from '../db/entities/mailbox.entity.ts';
import { EmailAccountSchema } from '../db/entities/email-account.entity.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import {
  apiClient,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';
import { LiveClient } from './support/live.ts';
import { startDovecot, type Dovecot } from './support/dovecot.ts';

/**
 * The unified inbox: shared mailboxes and members' own accounts in one list, filtered and searched. Sara (a member)
 * has her own private account and sees Luca's account, which he shares with her; Luca does not see Sara's account
 * nor the Legal mailbox. Another workspace holds mail with the very same words.
 */
let filo: TestFilo;
let demo: ApiClient;
let sara: ApiClient;
let luca: ApiClient;
let other: ApiClient;
const ids = { tenant: '', otherTenant: '', sara: '', luca: '' };
const box = { support: '', legal: '', saraAccount: '', lucaAccount: '', elsewhere: '' };
/** Conversations by name. */
const c = { invoice: '', merger: '', report: '', lunch: '', shipping: '', elsewhere: '' };
const sockets: LiveClient[] = [];

/** A mailbox of kind `account` with its account row, made directly (the accounts' own service is elsewhere). */
async function account(
  tenantId: string,
  input: { name: string; email: string; ownerId: string; memberIds: string[]; status: 'connected' | 'error' },
): Promise<string> {
  return inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
    const mailbox = em.create(MailboxSchema, {
      tenantId,
      name: input.name,
      kind: 'account',
      private: true,
      localPart: `account-${randomUUID().slice(0, 8)}`,
      memberIds: input.memberIds,
    });
    await em.flush();
    em.create(EmailAccountSchema, {
      tenantId,
      mailboxId: mailbox.id,
      ownerId: input.ownerId,
      email: input.email,
      imapHost: 'imap.example.net',
      imapPort: 993,
      imapUser: input.email,
      smtpHost: 'smtp.example.net',
      smtpPort: 465,
      smtpUser: input.email,
      // Not enabled: the sync engine leaves it alone (its hosts do not exist), so its health stays as written.
      enabled: false,
      status: input.status,
      lastError: input.status === 'error' ? 'AUTHENTICATIONFAILED Invalid credentials (Failure)' : null,
    });
    await em.flush();
    return mailbox.id;
  });
}

/** A customer's message into a mailbox through the inbox's own writer; a new conversation unless `into`. */
async function mail(
  tenantId: string,
  mailboxId: string,
  m: { subject: string; text: string; fromName: string; fromAddress: string; into?: string },
): Promise<string> {
  const appended = await inTenant(filo.orm, systemActor(tenantId, 'Filo mail'), (uow) =>
    filo.services.conversations.openOrAppend(uow, {
      mailboxId,
      conversationId: m.into ?? null,
      open: { subject: m.subject, normalizedSubject: m.subject.toLowerCase() },
      author: 'customer',
      direction: 'inbound',
      participants: [m.fromAddress],
      link: { contactId: null, companyId: null },
      at: new Date(),
      message: {
        messageIdHeader: `${randomUUID()}@test.example`,
        fromAddress: m.fromAddress,
        fromName: m.fromName,
        subject: m.subject,
        text: m.text,
      },
    }),
  );
  return appended.conversation.id;
}

const list = async (who: ApiClient, query: string) =>
  (await who.json<ConversationPage>('GET', `/api/inbox/conversations?limit=100&${query}`)).items;
/** The names of the conversations a list holds, sorted. */
const names = async (who: ApiClient, query: string) => {
  const byId = new Map(Object.entries(c).map(([name, id]) => [id, name]));
  return (await list(who, query)).map((x) => byId.get(x.id) ?? x.id).sort();
};

async function live(client: ApiClient): Promise<LiveClient> {
  const socket = new LiveClient(filo.baseUrl, { cookie: client.cookie });
  sockets.push(socket);
  await socket.ready();
  return socket;
}

beforeAll(async () => {
  // The real-IMAP block connects an account to a Dovecot on this machine; its sync engine looks every 200 ms.
  filo = await startTestFilo({ SMTP_ALLOWED_HOSTS: '127.0.0.1', ACCOUNT_SYNC_POLL_MS: '200' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Altrove',
      name: 'Altrove Owner',
      email: 'owner@altrove.example',
      password: 'correct horse battery',
    }),
  );
  const me = await sara.json('GET', '/api/auth/me');
  ids.tenant = me.workspace.id;
  ids.sara = me.user.id;
  ids.luca = (await luca.json('GET', '/api/auth/me')).user.id;
  ids.otherTenant = (await other.json('GET', '/api/auth/me')).workspace.id;

  box.support = (await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' })).id;
  box.legal = (
    await demo.json('POST', '/api/inbox/mailboxes', { name: 'Legal', localPart: 'legal', memberIds: [ids.sara] })
  ).id;
  box.saraAccount = await account(ids.tenant, {
    name: 'Sara Bianchi',
    email: 'sara@bianchi-mail.example',
    ownerId: ids.sara,
    memberIds: [ids.sara],
    status: 'error',
  });
  box.lucaAccount = await account(ids.tenant, {
    name: 'Luca Verdi',
    email: 'luca@verdi-mail.example',
    ownerId: ids.luca,
    memberIds: [ids.luca, ids.sara],
    status: 'connected',
  });
  box.elsewhere = (await other.json('POST', '/api/inbox/mailboxes', { name: 'Vendite', localPart: 'vendite' })).id;

  c.invoice = await mail(ids.tenant, box.support, {
    subject: 'Invoice overdue',
    text: 'Please settle the invoice by Friday.',
    fromName: 'Giulia Brambilla',
    fromAddress: 'giulia@brambilla-officine.example',
  });
  c.merger = await mail(ids.tenant, box.legal, {
    subject: 'Merger draft',
    text: 'The quokka clause needs another look.',
    fromName: 'Rita Riservata',
    fromAddress: 'rita@riservata.example',
  });
  c.report = await mail(ids.tenant, box.saraAccount, {
    subject: 'Quarterly report',
    text: 'The numbers of the pangolin project are attached.',
    fromName: 'Paolo Colombo',
    fromAddress: 'paolo@colombo-consulting.example',
  });
  c.lunch = await mail(ids.tenant, box.saraAccount, {
    subject: 'Lunch on Thursday',
    text: 'See you at noon.',
    fromName: 'Marco Gualtieri',
    fromAddress: 'marco@caseificio-gualtieri.example',
  });
  c.shipping = await mail(ids.tenant, box.lucaAccount, {
    subject: 'Shipping update',
    text: 'The pangolin crates left the warehouse.',
    fromName: 'Stefan Huber',
    fromAddress: 'stefan.huber@transalpina-logistica.example',
  });
  c.elsewhere = await mail(ids.otherTenant, box.elsewhere, {
    subject: 'Quarterly pangolin quokka',
    text: 'Pangolin and quokka, Colombo and Brambilla.',
    fromName: 'Paolo Colombo',
    fromAddress: 'paolo@colombo-consulting.example',
  });

  await demo.json('PATCH', `/api/inbox/conversations/${c.invoice}`, { assigneeId: ids.luca });
  await sara.json('PATCH', `/api/inbox/conversations/${c.lunch}`, { assigneeId: ids.sara, status: 'pending' });
  await sara.json('PATCH', `/api/inbox/conversations/${c.shipping}`, { tags: ['vip-customer'] });
  await sara.json('POST', `/api/inbox/conversations/${c.lunch}/read`, {}, 200);
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await filo?.close();
});

describe('GET /api/inbox/mailboxes', () => {
  it('lists shared mailboxes and the accounts the member sees, each with its kind, address and health', async () => {
    const items = await sara.json<{ items: Mailbox[] }>('GET', '/api/inbox/mailboxes').then((r) => r.items);
    const byId = new Map(items.map((m) => [m.id, m]));
    expect([...byId.keys()].sort()).toEqual([box.support, box.legal, box.saraAccount, box.lucaAccount].sort());
    expect(byId.get(box.support)).toMatchObject({ kind: 'shared', account: null });
    expect(byId.get(box.legal)).toMatchObject({ kind: 'shared', account: null });
    expect(byId.get(box.saraAccount)).toMatchObject({
      kind: 'account',
      account: {
        email: 'sara@bianchi-mail.example',
        status: 'error',
        lastError: 'AUTHENTICATIONFAILED Invalid credentials (Failure)',
        own: true,
      },
    });
    expect(byId.get(box.lucaAccount)).toMatchObject({
      kind: 'account',
      account: { email: 'luca@verdi-mail.example', status: 'connected', lastError: null, own: false },
    });
  });

  it('answers one account mailbox with its account, and 404 to a member who does not see it', async () => {
    expect(await sara.json<Mailbox>('GET', `/api/inbox/mailboxes/${box.lucaAccount}`)).toMatchObject({
      kind: 'account',
      account: { email: 'luca@verdi-mail.example', status: 'connected', own: false },
    });
    expect((await luca.call('GET', `/api/inbox/mailboxes/${box.saraAccount}`)).status).toBe(404);
  });

  it('never lists an account or a mailbox the member is not in', async () => {
    const items = await luca.json<{ items: Mailbox[] }>('GET', '/api/inbox/mailboxes').then((r) => r.items);
    expect(items.map((m) => m.id).sort()).toEqual([box.support, box.lucaAccount].sort());
    expect(items.find((m) => m.id === box.lucaAccount)?.account?.own).toBe(true);
  });
});

describe('GET /api/inbox/conversations filters', () => {
  it('lists shared mailboxes and accounts together, and nothing the member does not see', async () => {
    expect(await names(sara, '')).toEqual(['invoice', 'lunch', 'merger', 'report', 'shipping']);
    expect(await names(luca, '')).toEqual(['invoice', 'shipping']);
  });

  it('filters by one mailbox or account, or several', async () => {
    expect(await names(sara, `mailboxId=${box.saraAccount}`)).toEqual(['lunch', 'report']);
    expect(await names(sara, `mailboxId=${box.saraAccount}&mailboxId=${box.support}`)).toEqual([
      'invoice',
      'lunch',
      'report',
    ]);
    expect(await names(sara, `mailboxId=${box.lucaAccount}&mailboxId=${box.legal}`)).toEqual(['merger', 'shipping']);
  });

  it('filters by unread for this user', async () => {
    expect(await names(sara, 'unread=true')).toEqual(['invoice', 'merger', 'report', 'shipping']);
    expect(await names(sara, 'unread=false')).toEqual(['lunch']);
    // Sara's read mark is hers: Luca has not read the conversation of his account.
    expect(await names(luca, 'unread=true')).toEqual(['invoice', 'shipping']);
  });

  it('filters by assignee: me, nobody, a member', async () => {
    expect(await names(sara, 'assignee=me')).toEqual(['lunch']);
    expect(await names(sara, 'assignee=none')).toEqual(['merger', 'report', 'shipping']);
    expect(await names(sara, `assignee=${ids.luca}`)).toEqual(['invoice']);
    expect(await names(luca, 'assignee=me')).toEqual(['invoice']);
  });

  it('filters by status', async () => {
    expect(await names(sara, 'status=pending')).toEqual(['lunch']);
    expect(await names(sara, 'status=open')).toEqual(['invoice', 'merger', 'report', 'shipping']);
  });

  it('combines filters', async () => {
    const accounts = `mailboxId=${box.saraAccount}&mailboxId=${box.lucaAccount}`;
    expect(await names(sara, `${accounts}&unread=true&assignee=none&status=open`)).toEqual(['report', 'shipping']);
    expect(await names(sara, `${accounts}&unread=true&assignee=none&status=open&q=pangolin`)).toEqual([
      'report',
      'shipping',
    ]);
    expect(await names(sara, `${accounts}&q=pangolin&mailboxId=${box.support}`)).toEqual(['report', 'shipping']);
    expect(await names(sara, `mailboxId=${box.lucaAccount}&q=pangolin&unread=false`)).toEqual([]);
    expect(await names(sara, `q=report&assignee=me`)).toEqual([]);
  });

  it('answers 404 for a mailbox the member does not see, in a list of several too', async () => {
    for (const query of [
      `mailboxId=${box.saraAccount}`,
      `mailboxId=${box.lucaAccount}&mailboxId=${box.legal}`,
      `mailboxId=${box.elsewhere}`,
      `mailboxId=${randomUUID()}`,
    ]) {
      const res = await luca.call('GET', `/api/inbox/conversations?${query}`);
      expect(res.status, query).toBe(404);
      expect(await errorCode(res)).toBe('not_found');
    }
  });

  it('refuses bad filters with a 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      [`q=${'a'.repeat(201)}`, 'q'],
      ['q=%21%21%21', 'q'],
      ['q=%20%20', 'q'],
      ['mailboxId=inbox', 'mailboxId'],
      [Array.from({ length: 51 }, () => `mailboxId=${randomUUID()}`).join('&'), 'mailboxId'],
      [`mailboxId=${box.support}&mailboxId=nope`, 'mailboxId'],
      ['status=archived', 'status'],
      ['unread=maybe', 'unread'],
      ['assignee=someone', 'assignee'],
      ['account=all', 'query'],
      ['limit=1000', 'limit'],
    ];
    for (const [query, field] of cases) {
      const res = await sara.call('GET', `/api/inbox/conversations?${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; fields?: Record<string, string> } };
      expect(body.error.code, query).toBe('validation_failed');
      expect(
        Object.keys(body.error.fields ?? {}).some((k) => k === field || k.startsWith(`${field}.`)),
        query,
      ).toBe(true);
    }
  });
});

describe('GET /api/inbox/conversations?q= (full-text search)', () => {
  it('finds by a word of the subject, as a prefix too', async () => {
    expect(await names(sara, 'q=quarterly')).toEqual(['report']);
    expect(await names(sara, 'q=Quart')).toEqual(['report']);
    expect(await names(sara, 'q=invoice')).toEqual(['invoice']);
  });

  it('finds by a word of the body', async () => {
    expect(await names(sara, 'q=pangolin')).toEqual(['report', 'shipping']);
    expect(await names(sara, 'q=warehouse')).toEqual(['shipping']);
  });

  it("finds by the sender's name, address or domain", async () => {
    expect(await names(sara, 'q=Colombo')).toEqual(['report']);
    expect(await names(sara, `q=${encodeURIComponent('paolo@colombo-consulting.example')}`)).toEqual(['report']);
    expect(await names(sara, 'q=transalpina')).toEqual(['shipping']);
    expect(await names(sara, 'q=Brambilla')).toEqual(['invoice']);
  });

  it('finds by what the conversation carries (its tags), with every word required', async () => {
    expect(await names(sara, 'q=vip')).toEqual(['shipping']);
    expect(await names(sara, 'q=pangolin%20crates')).toEqual(['shipping']);
    expect(await names(sara, 'q=pangolin%20lunch')).toEqual([]);
  });

  it('takes search syntax as plain words (no operator reaches the query)', async () => {
    expect(await names(sara, `q=${encodeURIComponent("pangolin:* | !(') & <->")}`)).toEqual(['report', 'shipping']);
  });

  it('finds a message that arrives later, in an existing conversation', async () => {
    await mail(ids.tenant, box.saraAccount, {
      subject: 'Re: Lunch on Thursday',
      text: 'Bring the armadillo brochure.',
      fromName: 'Marco Gualtieri',
      fromAddress: 'marco@caseificio-gualtieri.example',
      into: c.lunch,
    });
    expect(await names(sara, 'q=armadillo')).toEqual(['lunch']);
  });

  it('never finds a message of a mailbox or account the member does not see', async () => {
    expect(await names(luca, 'q=quokka')).toEqual([]);
    expect(await names(luca, 'q=pangolin')).toEqual(['shipping']);
    expect(await names(luca, 'q=quarterly')).toEqual([]);
    expect(await names(luca, 'q=Colombo')).toEqual([]);
    expect(await names(sara, 'q=quokka')).toEqual(['merger']);
  });

  it('never finds across workspaces', async () => {
    expect(await names(other, 'q=pangolin')).toEqual(['elsewhere']);
    expect(await names(other, 'q=warehouse')).toEqual([]);
    expect(await names(other, 'q=invoice')).toEqual([]);
    // The owner of the first workspace sees every shared mailbox, and still nothing of the other one.
    const found = await list(demo, 'q=quokka');
    expect(found.map((x) => x.id)).toEqual([c.merger]);
    expect(found.some((x) => x.id === c.elsewhere)).toBe(false);
  });

  it('pages the results with the cursor, each once', async () => {
    const first = await sara.json<ConversationPage>('GET', '/api/inbox/conversations?q=pangolin&limit=1');
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toBeTruthy();
    const second = await sara.json<ConversationPage>(
      'GET',
      `/api/inbox/conversations?q=pangolin&limit=1&cursor=${first.nextCursor}`,
    );
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    expect([first.items[0]!.id, second.items[0]!.id].sort()).toEqual([c.report, c.shipping].sort());
  });
});

describe('live, whatever the source', () => {
  it("follows an account's conversations and counts its unread, per account and overall", async () => {
    const socket = await live(sara);
    const changes: ConversationChange[] = [];
    socket.socket.on('conversation:updated', (change) => changes.push(change));
    const ack: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
    expect(ack.ok && [...ack.mailboxIds].sort()).toEqual(
      [box.support, box.legal, box.saraAccount, box.lucaAccount].sort(),
    );
    await sara.json('POST', `/api/inbox/conversations/${c.report}/read`, {}, 200);
    const before = await sara.json<InboxCounts>('GET', '/api/inbox/counts');
    const id = await mail(ids.tenant, box.saraAccount, {
      subject: 'Contract renewal',
      text: 'Time to renew.',
      fromName: 'Paolo Colombo',
      fromAddress: 'paolo@colombo-consulting.example',
    });
    await expect
      .poll(() => changes.find((x) => x.id === id), { timeout: 10_000 })
      .toMatchObject({ mailboxId: box.saraAccount, reason: 'message' });
    const after = await sara.json<InboxCounts>('GET', '/api/inbox/counts');
    expect(after.mailboxes[box.saraAccount]!.unread).toBe(before.mailboxes[box.saraAccount]!.unread + 1);
    expect(after.views.all.unread).toBe(before.views.all.unread + 1);
    // Luca's socket follows his own account, never Sara's.
    const lucaSocket = await live(luca);
    const lucaAck: InboxWatchAck = await lucaSocket.socket.emitWithAck('inbox:watch', {});
    expect(lucaAck.ok && [...lucaAck.mailboxIds].sort()).toEqual([box.support, box.lucaAccount].sort());
  });

  it("shows presence and the collision warning on an account's conversation to those who see it", async () => {
    const a = await live(luca);
    const b = await live(sara);
    expect((await a.watch('conversation', c.shipping)).ok).toBe(true);
    const ack = await b.watch('conversation', c.shipping);
    expect(ack.ok && ack.presence.map((u) => [u.name, u.state]).sort()).toEqual([
      ['Luca Verdi', 'viewing'],
      ['Sara Bianchi', 'viewing'],
    ]);
    a.socket.emit('presence:set', { type: 'conversation', id: c.shipping, state: 'replying' });
    await b.until(() =>
      b.presence.find(
        (p) => p.id === c.shipping && p.users.some((u) => u.name === 'Luca Verdi' && u.state === 'replying'),
      ),
    );
    // Sara's own account is hers: Luca can neither watch its conversation nor see who is on it.
    const refused = await a.watch('conversation', c.report);
    expect(refused.ok).toBe(false);
  });
});

describe('an account synced from a real IMAP server', () => {
  const imap = { user: 'sara@bianchi-imap.test', password: `imap-${randomUUID()}` };
  let dovecot: Dovecot;
  const mail = (subject: string, text: string, id: string) =>
    [
      'From: Ottavia Rinaldi <ottavia@rinaldi-imap.test>',
      `To: ${imap.user}`,
      `Subject: ${subject}`,
      `Message-ID: <${id}@rinaldi-imap.test>`,
      `Date: ${new Date().toUTCString()}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text,
      '',
    ].join('\r\n');

  beforeAll(async () => {
    dovecot = await startDovecot([imap]);
    const other = await dovecot.client(imap);
    await other.append('INBOX', mail('Ordine lotto 77', 'La consegna del lotto arriva con il tapiro.', 'lotto-77'));
    await other.logout();
  }, 30_000);
  afterAll(async () => {
    await dovecot?.stop();
  });

  it('brings its mail into the unified inbox: listed, searched, live and counted, for those who see it', async () => {
    const account = await sara.json<{ id: string; mailboxId: string }>('POST', '/api/email-accounts', {
      email: imap.user,
      displayName: 'Sara IMAP',
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', password: imap.password },
      smtp: { host: '127.0.0.1', port: 2525, security: 'none', user: imap.user, password: 'unused' },
    });
    const inAccount = async () => (await list(sara, `mailboxId=${account.mailboxId}`)).map((x) => x.subject).sort();
    await expect.poll(inAccount, { timeout: 30_000, interval: 200 }).toEqual(['Ordine lotto 77']);
    const mailbox = (await sara.json<{ items: Mailbox[] }>('GET', '/api/inbox/mailboxes')).items.find(
      (m) => m.id === account.mailboxId,
    );
    expect(mailbox).toMatchObject({ kind: 'account', account: { id: account.id, email: imap.user, own: true } });
    expect((await list(sara, 'q=tapiro')).map((x) => x.subject)).toEqual(['Ordine lotto 77']);
    expect(await list(luca, 'q=tapiro')).toEqual([]);

    // New mail at the provider reaches Sara's open inbox live, and her unread count for the account.
    const socket = await live(sara);
    const changes: ConversationChange[] = [];
    socket.socket.on('conversation:updated', (change) => changes.push(change));
    const ack: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
    expect(ack.ok && ack.mailboxIds).toContain(account.mailboxId);
    const before = await sara.json<InboxCounts>('GET', '/api/inbox/counts');
    const other = await dovecot.client(imap);
    await other.append('INBOX', mail('Fattura lotto 78', 'Il tapiro porta anche la fattura.', 'lotto-78'));
    await other.logout();
    await expect
      .poll(() => changes.find((x) => x.mailboxId === account.mailboxId && x.reason === 'message'), {
        timeout: 30_000,
      })
      .toBeTruthy();
    await expect.poll(inAccount, { timeout: 10_000 }).toEqual(['Fattura lotto 78', 'Ordine lotto 77']);
    const after = await sara.json<InboxCounts>('GET', '/api/inbox/counts');
    expect(after.mailboxes[account.mailboxId]!.unread).toBe(before.mailboxes[account.mailboxId]!.unread + 1);
    expect((await list(sara, 'q=tapiro%20fattura')).map((x) => x.subject)).toEqual(['Fattura lotto 78']);
  }, 90_000);
});
