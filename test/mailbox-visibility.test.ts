import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { initORM } from '../db/orm.ts';
import { migrationsList } from '../db/migrations/index.ts';
import type { ActivityDto } from '../server/timeline/publisher.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { LiveClient } from './support/live.ts';
import { databaseUrl, randomDatabaseName, withAdmin } from './support/postgres.ts';

/**
 * A restricted mailbox stays restricted on every read path. Sara (a member) is in the Legal mailbox, Luca (a
 * member) is not; Demo (the owner) sees every mailbox. Mail with an attachment reaches Legal from a contact of
 * a company, Sara writes an internal note and replies: none of it reaches Luca, by any path.
 */
let filo: TestFilo;
let demo: ApiClient;
let sara: ApiClient;
let luca: ApiClient;
const ids = { sara: '', luca: '' };
let legal: { id: string; inboundAddress: string };
let support: { id: string; inboundAddress: string };
let company: { id: string };
let contact: { id: string };
const sockets: LiveClient[] = [];
let saraLive: LiveClient;
let lucaLive: LiveClient;
/** Luca's wall screen: a read-only token, on the workspace feed. */
let lucaWall: LiveClient;
let lucaWallToken = '';
/** The two conversations of the Legal mailbox. */
const restricted = { first: '', second: '' };
let documentId = '';
/** A file Sara uploaded for her reply. */
let replyFileId = '';

const PASSWORD = 'filo-demo';

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

async function live(client: ApiClient): Promise<LiveClient> {
  const socket = new LiveClient(filo.baseUrl, { cookie: client.cookie });
  sockets.push(socket);
  await socket.ready();
  return socket;
}

/** Whether an activity came from the Legal mailbox (its mail, its conversations' notes and changes). */
const fromLegal = (a: ActivityDto) =>
  a.data.mailboxId === legal.id ||
  [restricted.first, restricted.second].includes(String(a.data.conversationId ?? '')) ||
  [restricted.first, restricted.second].includes(a.entityId) ||
  /Merger|quokka|wombat/i.test(`${a.title} ${a.description ?? ''}`);

const timeline = async (who: ApiClient, query = '') =>
  (await who.json<{ items: ActivityDto[] }>('GET', `/api/crm/timeline?limit=200${query}`)).items;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: PASSWORD }));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: PASSWORD }));
  ids.sara = (await sara.json('GET', '/api/auth/me')).user.id;
  ids.luca = (await luca.json('GET', '/api/auth/me')).user.id;
  company = await demo.json('POST', '/api/crm/companies', {
    name: 'Riservata Holding',
    type: 'client',
    website: 'https://www.riservata.example',
  });
  contact = await demo.json('POST', '/api/crm/contacts', {
    firstName: 'Rita',
    lastName: 'Riservata',
    email: 'rita@riservata.example',
    companyId: company.id,
  });
  support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  // Luca is in Legal at first: he is mentioned and assigned there, then taken off its members.
  legal = await demo.json('POST', '/api/inbox/mailboxes', {
    name: 'Legal',
    localPart: 'legal',
    memberIds: [ids.sara, ids.luca],
  });

  await deliver({
    from: 'Rita Riservata <rita@riservata.example>',
    to: legal.inboundAddress,
    subject: 'Merger terms',
    text: 'The first draft of the merger terms.',
    messageId: '<merger-1@riservata.example>',
  });
  restricted.first = await conversationId(sara, 'Merger terms');
  await sara.json('POST', `/api/inbox/conversations/${restricted.first}/notes`, {
    content: 'Luca, please read the merger terms',
    mentions: [ids.luca],
  });
  await sara.json('PATCH', `/api/inbox/conversations/${restricted.first}`, { assigneeId: ids.luca });
  const before = await luca.json<{ items: { entityId: string }[]; unread: number }>('GET', '/api/notifications');
  expect(before.items.filter((n) => n.entityId === restricted.first)).toHaveLength(2);
  await demo.json('PATCH', `/api/inbox/mailboxes/${legal.id}`, { memberIds: [ids.sara] });

  saraLive = await live(sara);
  lucaLive = await live(luca);
  lucaWallToken = (await luca.json('POST', '/api/tokens', { name: 'Wall', scope: 'read' })).token;
  lucaWall = new LiveClient(filo.baseUrl, { token: lucaWallToken });
  sockets.push(lucaWall);
  await lucaWall.ready();
  for (const socket of [saraLive, lucaLive]) {
    expect((await socket.watch('company', company.id)).ok).toBe(true);
    expect((await socket.watch('contact', contact.id)).ok).toBe(true);
  }

  await deliver({
    from: 'Rita Riservata <rita@riservata.example>',
    to: legal.inboundAddress,
    subject: 'Merger plan attached',
    text: 'Here is the zanzibar plan for the merger.',
    messageId: '<merger-2@riservata.example>',
    attachments: [{ filename: 'merger-plan.pdf', content: Buffer.from('%PDF-1.4\n% merger plan\n') }],
  });
  restricted.second = await conversationId(sara, 'Merger plan attached');
  await sara.json('POST', `/api/inbox/conversations/${restricted.second}/notes`, {
    content: 'Internal: the quokka clause must stay secret',
  });
  const form = new FormData();
  form.append('file', new Blob(['signed merger terms']), 'terms.txt');
  const uploaded = await fetch(`${filo.baseUrl}/api/inbox/uploads`, {
    method: 'POST',
    headers: { cookie: sara.cookie, origin: filo.baseUrl },
    body: form,
  });
  expect(uploaded.status).toBe(201);
  replyFileId = ((await uploaded.json()) as { id: string }).id;
  await sara.json(
    'POST',
    `/api/inbox/conversations/${restricted.second}/replies`,
    { body: 'Thanks, wombat reply', attachments: [replyFileId] },
    202,
  );
  await saraLive.until(() => saraLive.activities.some((a) => a.type === 'email.sent'), 20_000);
  const detail = await sara.json<{ messages: { attachments: { documentId: string; fileName: string }[] }[] }>(
    'GET',
    `/api/inbox/conversations/${restricted.second}`,
  );
  documentId = detail.messages.flatMap((m) => m.attachments).find((a) => a.fileName === 'merger-plan.pdf')!.documentId;

  // Then mail to the open mailbox: once Luca's socket has it, anything sent to it before has arrived too.
  await deliver({
    from: 'Rita Riservata <rita@riservata.example>',
    to: support.inboundAddress,
    subject: 'Opening hours',
    text: 'When are you open?',
    messageId: '<hours@riservata.example>',
  });
  for (const socket of [saraLive, lucaLive, lucaWall])
    await socket.until(() => socket.activities.some((a) => a.title.includes('Opening hours')), 20_000);
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await filo?.close();
});

describe('a restricted mailbox, for a member outside it', () => {
  it('sends nothing of it over the live feed (tenant and record rooms), while a member of it hears all', () => {
    expect(lucaLive.activities.filter(fromLegal)).toEqual([]);
    expect(lucaWall.activities.filter(fromLegal)).toEqual([]);
    const heard = saraLive.activities.filter(fromLegal).map((a) => a.type);
    expect(heard).toEqual(expect.arrayContaining(['email.received', 'note.added', 'email.sent']));
  });

  it('finds no internal note of it by search', async () => {
    const hits = async (who: ApiClient, q: string) =>
      (await who.json<{ items: { type: string; title: string }[] }>('GET', `/api/search?q=${q}`)).items;
    expect(await hits(luca, 'quokka')).toEqual([]);
    expect(await hits(luca, 'merger')).toEqual([]);
    expect((await hits(sara, 'quokka')).map((h) => h.type)).toEqual(['note']);
    expect((await hits(demo, 'quokka')).map((h) => h.type)).toEqual(['note']);
  });

  it('shows none of it on the workspace, company and contact timelines (nor on their wall)', async () => {
    for (const query of [
      '',
      `&entityType=company&entityId=${company.id}`,
      `&entityType=contact&entityId=${contact.id}`,
    ]) {
      expect((await timeline(luca, query)).filter(fromLegal)).toEqual([]);
      expect((await timeline(sara, query)).filter(fromLegal).length).toBeGreaterThan(0);
      // A page at a cursor (planned apart from first pages) hides and shows the same.
      for (const who of [luca, sara]) {
        const first = await timeline(who, query);
        expect(await timeline(who, `${query}&before=${first[0]!.seq + 1}`), query).toEqual(first);
        expect(await timeline(who, `${query}&after=0`), query).toEqual(first);
      }
    }
    const wall = apiClient(filo.baseUrl, lucaWallToken, true);
    expect((await timeline(wall)).filter(fromLegal)).toEqual([]);
    expect((await timeline(wall)).some((a) => a.title.includes('Opening hours'))).toBe(true);
    const all = (await timeline(sara)).filter(fromLegal).map((a) => a.type);
    expect(all).toEqual(
      expect.arrayContaining(['email.received', 'note.added', 'email.sent', 'conversation.assigned']),
    );
    expect((await timeline(demo)).filter(fromLegal).length).toBe((await timeline(sara)).filter(fromLegal).length);
  });

  it('leaves its mail and attachments out of the full context', async () => {
    type Context = { recentActivities: ActivityDto[]; documents: { id: string; fileName: string }[] };
    const path = `/api/crm/companies/${company.id}/full-context`;
    const blind = await luca.json<Context>('GET', path);
    expect(blind.recentActivities.filter(fromLegal)).toEqual([]);
    expect(blind.documents.map((d) => d.id)).not.toContain(documentId);
    const member = await sara.json<Context>('GET', path);
    expect(member.recentActivities.filter(fromLegal).length).toBeGreaterThan(0);
    expect(member.documents.map((d) => d.fileName)).toContain('merger-plan.pdf');
  });

  it('does not list its attachments among the contact’s documents, nor serve them or its reply files (404)', async () => {
    const list = async (who: ApiClient) =>
      (
        await who.json<{ items: { id: string }[] }>(
          'GET',
          `/api/crm/documents?entityType=contact&entityId=${contact.id}`,
        )
      ).items.map((d) => d.id);
    expect(await list(luca)).not.toContain(documentId);
    expect(await list(sara)).toContain(documentId);
    const download = `/api/crm/documents/${documentId}/download`;
    expect((await luca.call('GET', download)).status).toBe(404);
    expect((await luca.call('DELETE', `/api/crm/documents/${documentId}`)).status).toBe(404);
    const got = await sara.call('GET', download);
    expect(got.status).toBe(200);
    expect(await got.text()).toContain('merger plan');
    // A file uploaded for a reply in the mailbox is the mailbox's once sent.
    expect((await luca.call('GET', `/api/crm/documents/${replyFileId}/download`)).status).toBe(404);
    expect((await sara.call('GET', `/api/crm/documents/${replyFileId}/download`)).status).toBe(200);
  });

  it('no longer shows (or counts) notifications about its conversations once taken off its members', async () => {
    const mine = await luca.json<{ items: { entityId: string; title: string }[]; unread: number }>(
      'GET',
      '/api/notifications',
    );
    expect(mine.items.filter((n) => n.entityId === restricted.first)).toEqual([]);
    expect(mine.unread).toBe(0);
    // Put back among the members, he sees them again: hidden, not deleted.
    await demo.json('PATCH', `/api/inbox/mailboxes/${legal.id}`, { memberIds: [ids.sara, ids.luca] });
    try {
      const again = await luca.json<{ items: { entityId: string }[]; unread: number }>('GET', '/api/notifications');
      expect(again.items.filter((n) => n.entityId === restricted.first)).toHaveLength(2);
      expect(again.unread).toBe(2);
    } finally {
      await demo.json('PATCH', `/api/inbox/mailboxes/${legal.id}`, { memberIds: [ids.sara] });
    }
  });

  it('replays none of it to record:watch with since=0, and all of it to a member', async () => {
    const blind = await live(luca);
    const member = await live(sara);
    for (const [type, id] of [
      ['company', company.id],
      ['contact', contact.id],
    ] as const) {
      const ack = await blind.watch(type, id, 0);
      if (!ack.ok) throw new Error(ack.error.message);
      expect(ack.missed.filter(fromLegal)).toEqual([]);
      expect(ack.missed.some((a) => a.title.includes('Opening hours'))).toBe(true);
      const full = await member.watch(type, id, 0);
      if (!full.ok) throw new Error(full.error.message);
      expect(full.missed.filter(fromLegal).length).toBeGreaterThan(0);
    }
  });

  it('keeps an open mailbox’s mail visible to everyone', async () => {
    expect(lucaLive.activities.some((a) => a.title.includes('Opening hours'))).toBe(true);
    const open = (await timeline(luca, `&entityType=contact&entityId=${contact.id}`)).filter((a) =>
      a.title.includes('Opening hours'),
    );
    expect(open.map((a) => a.type)).toEqual(['email.received']);
    expect(await conversationId(luca, 'Opening hours')).toBeTruthy();
  });

  it('does not let its attachments be sent from a mailbox he sees, even by a leaked id (404, nothing queued)', async () => {
    const open = await conversationId(luca, 'Opening hours');
    const refused = await luca.call('POST', `/api/inbox/conversations/${open}/replies`, {
      body: 'Here is the plan',
      attachments: [documentId],
    });
    expect(refused.status).toBe(404);
    const messages = async () =>
      (await luca.json<{ messages: { direction: string }[] }>('GET', `/api/inbox/conversations/${open}`)).messages;
    expect((await messages()).filter((m) => m.direction === 'outbound')).toEqual([]);
    // The same document is the contact's, so Sara (who sees Legal) may send it from the open mailbox.
    await sara.json(
      'POST',
      `/api/inbox/conversations/${open}/replies`,
      { body: 'Plan', attachments: [documentId] },
      202,
    );
  });
});

describe('the migration', () => {
  it('stamps rows written before it with the mailbox of the conversation, message or bounce they came from', async () => {
    const admin = inject('pgAdminUrl');
    const name = randomDatabaseName('filo_t_backfill');
    await withAdmin(admin, (c) => c.query(`create database ${name}`));
    const orm = await initORM(databaseUrl(admin, name));
    try {
      const mine = migrationsList.findIndex((m) => m.name === 'Migration20261205030000_mailbox_visibility');
      await orm.migrator.up({ to: migrationsList[mine - 1]!.name });
      const sql = (q: string, params: unknown[] = []) => orm.em.getConnection().execute(q, params);
      const [tenant, box, conv, inbound, message, attachment, own, other] = [1, 2, 3, 4, 5, 6, 7, 8].map(() =>
        randomUUID(),
      ) as [string, string, string, string, string, string, string, string];
      await sql(`insert into tenants (id, name, slug) values (?, 'T', 't')`, [tenant]);
      await sql(
        `insert into mailboxes (id, tenant_id, name, local_part, member_ids) values (?, ?, 'Legal', 'legal', ?)`,
        [box, tenant, `{${randomUUID()}}`],
      );
      await sql(
        `insert into conversations (id, tenant_id, mailbox_id, subject, normalized_subject, last_message_at)
         values (?, ?, ?, 'Merger', 'merger', now())`,
        [conv, tenant, box],
      );
      await sql(
        `insert into inbound_messages (id, tenant_id, mailbox_id, rcpt_to, size, sha256, spool_key)
         values (?, ?, ?, '{legal@t.example}', 1, 'x', 'k')`,
        [inbound, tenant, box],
      );
      await sql(
        `insert into email_messages (id, tenant_id, conversation_id, mailbox_id, direction, subject, attachments)
         values (?, ?, ?, ?, 'inbound', 'Merger', ?)`,
        [message, tenant, conv, box, JSON.stringify([{ documentId: attachment, fileName: 'plan.pdf' }])],
      );
      const doc = (id: string) =>
        sql(
          `insert into documents (id, tenant_id, entity_type, entity_id, file_name, file_url, sha256)
           values (?, ?, 'contact', ?, 'f', 'blob:x', 'x')`,
          [id, tenant, randomUUID()],
        );
      await doc(attachment);
      await doc(own);
      const activity = (seq: number, entityType: string, entityId: string, type: string, data: object) =>
        sql(
          `insert into activities (id, tenant_id, seq, entity_type, entity_id, activity_type, title, metadata)
           values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?)`,
          [tenant, seq, entityType, entityId, type, type, JSON.stringify(data)],
        );
      await activity(1, 'contact', other, 'email.received', { mailboxId: box, conversationId: conv });
      await activity(2, 'conversation', conv, 'note.added', { noteId: randomUUID() });
      await activity(3, 'contact', other, 'email.opened', { conversationId: conv });
      await activity(4, 'contact', other, 'email.bounced', { inboundId: inbound });
      await activity(5, 'contact', other, 'contact.updated', { changes: {} });

      await orm.migrator.up({ to: 'Migration20261205030000_mailbox_visibility' });
      const stamped = (await sql(`select seq, mailbox_id from activities order by seq`)) as {
        seq: string;
        mailbox_id: string | null;
      }[];
      expect(stamped.map((r) => r.mailbox_id)).toEqual([box, box, box, box, null]);
      const docs = (await sql(`select id, mailbox_id from documents`)) as { id: string; mailbox_id: string | null }[];
      expect(Object.fromEntries(docs.map((d) => [d.id, d.mailbox_id]))).toEqual({ [attachment]: box, [own]: null });
    } finally {
      await orm.close(true);
      await withAdmin(admin, (c) => c.query(`drop database if exists ${name} with (force)`));
    }
  });
});
