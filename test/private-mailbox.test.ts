import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InboxWatchAck } from '../realtime/events.ts';
import { rooms } from '../realtime/events.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import type { ActivityDto } from '../server/timeline/publisher.ts';
import { apiClient, errorCode, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { LiveClient } from './support/live.ts';

/**
 * A private mailbox (a member's own email account) is seen only by the members it names, owners and admins
 * included. Sara (a member) owns it and shares it with Luca (a member); Demo (the owner) and Mario (an admin) are
 * not in it. Mail with attachments reaches it from a contact of a company, Sara writes an internal note, assigns it
 * and replies: Demo and Mario get none of it by any path, while they still see every shared mailbox; taken off its
 * members, Luca is cut off at once, socket included.
 */
let filo: TestFilo;
let demo: ApiClient;
let mario: ApiClient;
let sara: ApiClient;
let luca: ApiClient;
const ids = { tenant: '', demo: '', mario: '', sara: '', luca: '' };
let account: { id: string; inboundAddress: string };
let legal: { id: string };
let support: { id: string; inboundAddress: string };
let company: { id: string };
let contact: { id: string };
const sockets: LiveClient[] = [];
const live: Record<'demo' | 'mario' | 'sara' | 'luca' | 'wall', LiveClient> = {} as never;
let wallToken = '';
let conversation = '';
let publicConversation = '';
let messageId = '';
let documentId = '';
let replyId = '';

const PASSWORD = 'filo-demo';
const SECRET = /pangolin|Private pricing|budget\.pdf|Sara's mail/i;

async function deliver(message: Mail.Options): Promise<void> {
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

/** Runs SQL in the workspace as Filo itself (the test plays the accounts service). */
const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(ids.tenant), (uow) => uow.em.execute(query, params) as Promise<T[]>);

/** Waits until `who` lists a conversation with this subject (processing is a background job). */
function conversationId(who: ApiClient, subject: string): Promise<string> {
  return vi.waitFor(
    async () => {
      const page = await who.json<{ items: { id: string; subject: string }[] }>(
        'GET',
        '/api/inbox/conversations?limit=100',
      );
      const id = page.items.find((c) => c.subject === subject)?.id;
      if (!id) throw new Error(`no conversation “${subject}” yet`);
      return id;
    },
    { timeout: 20_000, interval: 100 },
  );
}

async function connect(auth: { cookie?: string; token?: string }): Promise<LiveClient> {
  const socket = new LiveClient(filo.baseUrl, auth);
  sockets.push(socket);
  await socket.ready();
  return socket;
}

/** Whether an activity came from the private mailbox (its mail, its conversation's note, assignment and reply). */
const fromAccount = (a: ActivityDto) =>
  a.data.mailboxId === account.id ||
  a.data.conversationId === conversation ||
  a.entityId === conversation ||
  SECRET.test(`${a.title} ${a.description ?? ''} ${JSON.stringify(a.data)}`);

const timeline = async (who: ApiClient, query = '') =>
  (await who.json<{ items: ActivityDto[] }>('GET', `/api/crm/timeline?limit=200${query}`)).items;

/** The users whose sockets are in a room. */
const inRoom = async (room: string) =>
  (await filo.realtime!.io.in(room).fetchSockets()).map((s) => s.data.userId as string);

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  mario = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'mario@filo.local', password: PASSWORD }));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: PASSWORD }));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: PASSWORD }));
  const me = await demo.json('GET', '/api/auth/me');
  ids.tenant = me.workspace.id;
  ids.demo = me.user.id;
  for (const [who, client] of [
    ['mario', mario],
    ['sara', sara],
    ['luca', luca],
  ] as const)
    ids[who] = (await client.json('GET', '/api/auth/me')).user.id;
  company = await demo.json('POST', '/api/crm/companies', { name: 'Prezzi Trading', type: 'client' });
  contact = await demo.json('POST', '/api/crm/contacts', {
    firstName: 'Paola',
    lastName: 'Prezzi',
    email: 'paola@prezzi.example',
    companyId: company.id,
  });
  support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  // A restricted shared mailbox Mario is not in: as an admin he still sees it.
  legal = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Legal', localPart: 'legal', memberIds: [ids.sara] });

  // Sara's own account, shared with Luca: a private mailbox. Mail reaches it through the gateway while its kind is
  // still `shared` (the gateway routes only to shared mailboxes), as the sync would bring it; the reply too.
  account = await demo.json('POST', '/api/inbox/mailboxes', {
    name: "Sara's mail",
    localPart: 'sara-mail',
    memberIds: [ids.sara, ids.luca],
  });
  await sql(`update mailboxes set private = true where id = ?`, [account.id]);

  live.demo = await connect({ cookie: demo.cookie });
  live.mario = await connect({ cookie: mario.cookie });
  live.sara = await connect({ cookie: sara.cookie });
  live.luca = await connect({ cookie: luca.cookie });
  wallToken = (await mario.json('POST', '/api/tokens', { name: 'Wall', scope: 'read' })).token;
  live.wall = await connect({ token: wallToken });
  for (const socket of Object.values(live)) {
    expect((await socket.watch('company', company.id)).ok).toBe(true);
    expect((await socket.watch('contact', contact.id)).ok).toBe(true);
  }

  await deliver({
    from: 'Paola Prezzi <paola@prezzi.example>',
    to: account.inboundAddress,
    subject: 'Private pricing',
    text: 'Our pangolin discount, for your eyes only.',
    html: '<p>Our pangolin discount, for your eyes only.</p><img src="cid:logo@prezzi">',
    messageId: '<private-1@prezzi.example>',
    attachments: [
      { filename: 'budget.pdf', content: Buffer.from('%PDF-1.4\n% pangolin budget\n') },
      { filename: 'logo.png', content: PNG, cid: 'logo@prezzi', contentType: 'image/png' },
    ],
  });
  conversation = await conversationId(sara, 'Private pricing');
  await sara.json('POST', `/api/inbox/conversations/${conversation}/notes`, {
    content: 'Luca, the pangolin discount stays between us',
    mentions: [ids.luca],
  });
  await sara.json('PATCH', `/api/inbox/conversations/${conversation}`, { assigneeId: ids.luca });
  const detail = await sara.json<{
    messages: { id: string; direction: string; attachments: { documentId: string; fileName: string }[] }[];
  }>('GET', `/api/inbox/conversations/${conversation}`);
  messageId = detail.messages[0]!.id;
  documentId = detail.messages[0]!.attachments.find((a) => a.fileName === 'budget.pdf')!.documentId;
  replyId = (
    await sara.json<{ id: string }>(
      'POST',
      `/api/inbox/conversations/${conversation}/replies`,
      { body: 'Thanks, the pangolin reply' },
      202,
    )
  ).id;
  await live.sara.until(() => live.sara.activities.some((a) => a.type === 'email.sent'), 20_000);
  // Sent through the team relay while still `shared` (an account sends through its own SMTP server): now it is one.
  await sql(`update mailboxes set kind = 'account' where id = ?`, [account.id]);

  // Then mail to the open mailbox: once a socket has it, anything published before has reached it too.
  await deliver({
    from: 'Paola Prezzi <paola@prezzi.example>',
    to: support.inboundAddress,
    subject: 'Opening hours',
    text: 'When are you open?',
    messageId: '<hours@prezzi.example>',
  });
  for (const socket of Object.values(live))
    await socket.until(() => socket.activities.some((a) => a.title.includes('Opening hours')), 20_000);
  publicConversation = await conversationId(mario, 'Opening hours');
}, 120_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await filo?.close();
});

describe('a private mailbox, for an owner or admin it does not name', () => {
  it('is not among their mailboxes (settings and inbox), while shared ones all are; its DTO says private', async () => {
    for (const who of [demo, mario]) {
      const list = (await who.json<{ items: { id: string }[] }>('GET', '/api/inbox/mailboxes')).items.map((m) => m.id);
      expect(list).not.toContain(account.id);
      expect(list).toEqual(expect.arrayContaining([support.id, legal.id]));
      expect((await who.call('GET', `/api/inbox/mailboxes/${account.id}`)).status).toBe(404);
      expect((await who.call('PATCH', `/api/inbox/mailboxes/${account.id}`, { name: 'Mine now' })).status).toBe(404);
      expect((await who.call('DELETE', `/api/inbox/mailboxes/${account.id}`)).status).toBe(404);
    }
    for (const who of [sara, luca]) {
      const mine = (await who.json<{ items: { id: string; private: boolean }[] }>('GET', '/api/inbox/mailboxes')).items;
      expect(mine.find((m) => m.id === account.id)?.private).toBe(true);
    }
    const shared = (await mario.json<{ items: { id: string; private: boolean }[] }>('GET', '/api/inbox/mailboxes'))
      .items;
    expect(shared.find((m) => m.id === support.id)?.private).toBe(false);
  });

  it('answers 404 for its conversation, messages, raw source, attachments, inline images, notes and writes', async () => {
    const paths = [
      `/api/inbox/conversations/${conversation}`,
      `/api/inbox/conversations/${conversation}/notes`,
      `/api/inbox/messages/${messageId}/raw`,
      `/api/inbox/messages/${messageId}/attachments/${documentId}`,
      `/api/inbox/messages/${messageId}/cid/${encodeURIComponent('logo@prezzi')}`,
      `/api/inbox/messages/${replyId}/delivery`,
      `/api/inbox/conversations?mailboxId=${account.id}`,
    ];
    for (const who of [demo, mario]) {
      for (const path of paths) expect([path, (await who.call('GET', path)).status]).toEqual([path, 404]);
      expect((await who.call('PATCH', `/api/inbox/conversations/${conversation}`, { tags: ['mine'] })).status).toBe(
        404,
      );
      expect((await who.call('POST', `/api/inbox/conversations/${conversation}/read`)).status).toBe(404);
      expect(
        (await who.call('POST', `/api/inbox/conversations/${conversation}/notes`, { content: 'let me see' })).status,
      ).toBe(404);
      expect((await who.call('POST', `/api/inbox/conversations/${conversation}/replies`, { body: 'hi' })).status).toBe(
        404,
      );
    }
    // The same paths answer its owner and the member it is shared with.
    for (const who of [sara, luca])
      for (const path of paths) expect([path, (await who.call('GET', path)).status]).toEqual([path, 200]);
  });

  it('leaves it out of their conversation list and counts, while a shared mailbox’s conversation is there', async () => {
    for (const who of [demo, mario]) {
      const page = await who.json<{ items: { id: string }[] }>('GET', '/api/inbox/conversations?limit=100');
      expect(page.items.map((c) => c.id)).not.toContain(conversation);
      expect(page.items.map((c) => c.id)).toContain(publicConversation);
      const counts = await who.json<{ mailboxes: Record<string, unknown>; views: { all: { total: number } } }>(
        'GET',
        '/api/inbox/counts',
      );
      expect(Object.keys(counts.mailboxes)).not.toContain(account.id);
      expect(counts.views.all.total).toBe(1);
    }
    const counts = await sara.json<{ mailboxes: Record<string, { total: number }> }>('GET', '/api/inbox/counts');
    expect(counts.mailboxes[account.id]?.total).toBe(1);
  });

  it('shows none of it on the workspace, company and contact timelines (nor on a wall token)', async () => {
    const wall = apiClient(filo.baseUrl, wallToken, true);
    for (const query of [
      '',
      `&entityType=company&entityId=${company.id}`,
      `&entityType=contact&entityId=${contact.id}`,
    ]) {
      for (const who of [demo, mario, wall]) expect((await timeline(who, query)).filter(fromAccount)).toEqual([]);
      expect((await timeline(sara, query)).filter(fromAccount).length).toBeGreaterThan(0);
      expect((await timeline(mario, query)).some((a) => a.title.includes('Opening hours'))).toBe(true);
    }
    const all = (await timeline(sara)).filter(fromAccount).map((a) => a.type);
    expect(all).toEqual(
      expect.arrayContaining(['email.received', 'note.added', 'conversation.assigned', 'email.sent']),
    );
    expect((await timeline(luca)).filter(fromAccount).length).toBe((await timeline(sara)).filter(fromAccount).length);
  });

  it('sends nothing of it over the live feed (tenant and record rooms, wall token included); its members hear it', () => {
    for (const socket of [live.demo, live.mario, live.wall]) expect(socket.activities.filter(fromAccount)).toEqual([]);
    for (const socket of [live.sara, live.luca])
      expect(socket.activities.filter(fromAccount).map((a) => a.type)).toEqual(
        expect.arrayContaining(['email.received', 'note.added', 'email.sent']),
      );
  });

  it('finds nothing of it by search (its note), while its members do', async () => {
    const hits = async (who: ApiClient, q: string) =>
      (await who.json<{ items: { type: string }[] }>('GET', `/api/search?q=${q}`)).items;
    expect(await hits(demo, 'pangolin discount')).toEqual([]);
    expect(await hits(mario, 'pangolin discount')).toEqual([]);
    expect((await hits(sara, 'pangolin discount')).map((h) => h.type)).toEqual(['note']);
    expect((await hits(luca, 'pangolin discount')).map((h) => h.type)).toEqual(['note']);
  });

  it('leaves its attachments out of the contact’s documents, the full context and the CSV exports, and never serves them (404)', async () => {
    const list = async (who: ApiClient) =>
      (
        await who.json<{ items: { id: string }[] }>(
          'GET',
          `/api/crm/documents?entityType=contact&entityId=${contact.id}`,
        )
      ).items.map((d) => d.id);
    type Context = { recentActivities: ActivityDto[]; documents: { id: string }[] };
    const context = (who: ApiClient) => who.json<Context>('GET', `/api/crm/companies/${company.id}/full-context`);
    for (const who of [demo, mario]) {
      expect(await list(who)).not.toContain(documentId);
      expect((await who.call('GET', `/api/crm/documents/${documentId}/download`)).status).toBe(404);
      expect((await who.call('DELETE', `/api/crm/documents/${documentId}`)).status).toBe(404);
      const full = await context(who);
      expect(full.recentActivities.filter(fromAccount)).toEqual([]);
      expect(full.documents.map((d) => d.id)).not.toContain(documentId);
    }
    expect(await list(sara)).toContain(documentId);
    const got = await sara.call('GET', `/api/crm/documents/${documentId}/download`);
    expect(await got.text()).toContain('pangolin budget');
    expect((await context(luca)).documents.map((d) => d.id)).toContain(documentId);
    // The CSV exports carry records, never mail.
    for (const path of ['/api/crm/companies/export.csv', '/api/crm/contacts/export.csv']) {
      const res = await mario.call('GET', path);
      expect(res.status).toBe(200);
      const csv = await res.text();
      expect(csv).toContain('Prezzi');
      expect(csv).not.toMatch(/discount|Private pricing|budget\.pdf/);
    }
  });

  it('cannot be given to them: mentioning or assigning them is refused (400), and they get no notification', async () => {
    for (const id of [ids.demo, ids.mario]) {
      const mention = await sara.call('POST', `/api/inbox/conversations/${conversation}/notes`, {
        content: 'Have a look',
        mentions: [id],
      });
      expect(mention.status).toBe(400);
      expect(await errorCode(mention)).toBe('validation_failed');
      const assign = await sara.call('PATCH', `/api/inbox/conversations/${conversation}`, { assigneeId: id });
      expect(assign.status).toBe(400);
    }
    for (const who of [demo, mario]) {
      const mine = await who.json<{ items: { entityId: string }[] }>('GET', '/api/notifications');
      expect(mine.items.filter((n) => n.entityId === conversation)).toEqual([]);
    }
    for (const socket of [live.demo, live.mario])
      expect(socket.events.filter((e) => e.name === 'notification:new')).toEqual([]);
  });

  it('gives their sockets neither its inbox room, its conversation, nor its activities on a replay since 0', async () => {
    for (const socket of [live.demo, live.mario]) {
      const inbox: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
      expect(inbox.ok && inbox.mailboxIds).not.toContain(account.id);
      expect(inbox.ok && inbox.mailboxIds).toEqual(expect.arrayContaining([support.id, legal.id]));
      expect(await socket.watch('conversation', conversation, 0)).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });
      for (const [type, id] of [
        ['company', company.id],
        ['contact', contact.id],
      ] as const) {
        const ack = await socket.watch(type, id, 0);
        if (!ack.ok) throw new Error(ack.error.message);
        expect(ack.missed.filter(fromAccount)).toEqual([]);
        expect(ack.missed.some((a) => a.title.includes('Opening hours'))).toBe(true);
      }
    }
    expect(await inRoom(rooms.inbox(account.id))).toEqual([]);
    const full = await live.sara.watch('contact', contact.id, 0);
    expect(full.ok && full.missed.filter(fromAccount).length).toBeGreaterThan(0);
  });

  it('keeps its unreadable mail out of their failed-mail list; its raw form and retry are 404', async () => {
    const failed = (mailboxId: string) =>
      sql<{ id: string }>(
        `insert into inbound_messages (id, tenant_id, mailbox_id, rcpt_to, size, sha256, spool_key, status, error)
         values (gen_random_uuid(), ?, ?, '{x@example.com}', 1, 'x', 'missing-spool-file', 'failed', 'unreadable')
         returning id`,
        [ids.tenant, mailboxId],
      ).then((r) => r[0]!.id);
    const hidden = await failed(account.id);
    const open = await failed(support.id);
    for (const who of [demo, mario]) {
      const list = (await who.json<{ items: { id: string }[] }>('GET', '/api/inbox/failed')).items.map((m) => m.id);
      expect(list).toContain(open);
      expect(list).not.toContain(hidden);
      expect((await who.call('GET', `/api/inbox/inbound/${hidden}/raw`)).status).toBe(404);
      expect((await who.call('POST', `/api/inbox/inbound/${hidden}/retry`)).status).toBe(404);
    }
    const [row] = await sql<{ status: string }>(`select status from inbound_messages where id = ?`, [hidden]);
    expect(row!.status).toBe('failed');
  });

  it('is seen by all (null) only while no private mailbox leaves the admin out', async () => {
    const visible = (userId: string) =>
      sql<{ ids: string[] | null }>(`select filo_visible_mailboxes(?)::text[] as ids`, [userId]).then((r) => r[0]!.ids);
    expect(await visible(ids.mario)).toEqual(expect.arrayContaining([support.id, legal.id]));
    expect(await visible(ids.mario)).not.toContain(account.id);
    expect(await visible(ids.sara)).toEqual(expect.arrayContaining([support.id, legal.id, account.id]));
    expect(await visible(ids.luca)).not.toContain(legal.id);
    // Named in it, the admin is on the fast path again: every mailbox.
    await sql(`update mailboxes set member_ids = array_append(member_ids, ?) where id = ?`, [ids.mario, account.id]);
    try {
      expect(await visible(ids.mario)).toBeNull();
    } finally {
      await sql(`update mailboxes set member_ids = array_remove(member_ids, ?) where id = ?`, [ids.mario, account.id]);
    }
  });
});

describe('members taken off a private mailbox', () => {
  /** What the accounts service does when its owner changes who it is shared with: the row, then the announcement. */
  async function share(memberIds: string[]) {
    await sql(`update mailboxes set member_ids = ? where id = ?`, [`{${memberIds.join(',')}}`, account.id]);
    filo.services.access.changed({ reason: 'mailboxes_changed', tenantId: ids.tenant });
  }

  it('are cut off at once, the owner of the workspace as well as a member: list, conversation, notifications, live events', async () => {
    // Shared with the workspace's owner too: she sees it, and can be mentioned there.
    await share([ids.sara, ids.luca, ids.demo]);
    expect((await demo.call('GET', `/api/inbox/conversations/${conversation}`)).status).toBe(200);
    // Seeing it does not make it hers to manage: who sees an account is its owner's choice, made on the account.
    for (const [method, payload] of [
      ['PATCH', { memberIds: [ids.sara, ids.luca, ids.demo, ids.mario] }],
      ['PATCH', { name: 'Renamed' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await demo.call(method, `/api/inbox/mailboxes/${account.id}`, payload);
      expect(res.status).toBe(409);
      expect(await errorCode(res)).toBe('account_mailbox');
    }
    expect((await mario.call('GET', `/api/inbox/mailboxes/${account.id}`)).status).toBe(404);
    await sara.json('POST', `/api/inbox/conversations/${conversation}/notes`, {
      content: 'Have a look at the pangolin terms',
      mentions: [ids.demo],
    });
    const before = await demo.json<{ items: { entityId: string }[] }>('GET', '/api/notifications');
    expect(before.items.filter((n) => n.entityId === conversation)).toHaveLength(1);

    const watchers = { luca: await connect({ cookie: luca.cookie }), demo: await connect({ cookie: demo.cookie }) };
    const changes = new Map<LiveClient, { id: string; tags: string[] }[]>();
    for (const socket of Object.values(watchers)) {
      const log: { id: string; tags: string[] }[] = [];
      changes.set(socket, log);
      socket.socket.on('conversation:updated', (change) => log.push(change));
      const inbox: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
      expect(inbox.ok && inbox.mailboxIds).toContain(account.id);
      expect((await socket.watch('conversation', conversation)).ok).toBe(true);
      expect((await socket.watch('conversation', publicConversation)).ok).toBe(true);
      expect((await socket.watch('contact', contact.id)).ok).toBe(true);
    }
    const everyone = [...Object.values(watchers), live.luca, live.demo];
    const heard = new Map(everyone.map((s) => [s, s.activities.length]));
    const saraHeard = live.sara.activities.length;

    await share([ids.sara]);
    for (const userId of [ids.luca, ids.demo]) {
      await expect.poll(() => inRoom(rooms.inbox(account.id)), { timeout: 10_000 }).not.toContain(userId);
      await expect
        .poll(() => inRoom(rooms.record('conversation', conversation)), { timeout: 10_000 })
        .not.toContain(userId);
    }
    for (const who of [luca, demo]) {
      expect((await who.call('GET', `/api/inbox/conversations/${conversation}`)).status).toBe(404);
      const after = await who.json<{ items: { entityId: string }[]; unread: number }>('GET', '/api/notifications');
      expect(after.items.filter((n) => n.entityId === conversation)).toEqual([]);
      expect((await timeline(who)).filter(fromAccount)).toEqual([]);
    }
    expect((await luca.json<{ unread: number }>('GET', '/api/notifications')).unread).toBe(0);

    // Live: the private conversation's changes and activities stop; the shared one's (made after) still arrive.
    const current = await sara.json('GET', `/api/inbox/conversations/${conversation}`);
    await sara.json('PATCH', `/api/inbox/conversations/${conversation}`, {
      tags: ['after-removal'],
      version: current.version,
      status: 'pending',
    });
    await sara.json('POST', `/api/inbox/conversations/${conversation}/notes`, { content: 'pangolin, now private' });
    await mario.json('PATCH', `/api/inbox/conversations/${publicConversation}`, {
      tags: ['sentinel'],
      status: 'pending',
    });
    const sentinel = (a: ActivityDto) =>
      a.data.conversationId === publicConversation && a.type === 'conversation.status_changed';
    for (const socket of Object.values(watchers)) {
      const log = changes.get(socket)!;
      await socket.until(() => log.some((c) => c.tags.includes('sentinel')));
      expect(log.filter((c) => c.id === conversation)).toEqual([]);
      const touched = socket.events
        .filter((e) => e.name === 'record:updated')
        .map((e) => (e.payload as { id: string }).id);
      expect(touched).not.toContain(conversation);
      const again: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
      expect(again.ok && again.mailboxIds).not.toContain(account.id);
      expect(await socket.watch('conversation', conversation, 0)).toMatchObject({ ok: false });
    }
    for (const socket of everyone) {
      await socket.until(() => socket.activities.some(sentinel));
      expect(socket.activities.slice(heard.get(socket)).filter(fromAccount)).toEqual([]);
    }
    // Its owner heard both (published before the sentinel, on the same connection order).
    const types = await live.sara.until(() => {
      const mine = live.sara.activities
        .slice(saraHeard)
        .filter(fromAccount)
        .map((a) => a.type);
      return mine.includes('note.added') && mine.includes('conversation.status_changed') && mine;
    });
    expect(types).toBeTruthy();
  }, 60_000);
});
