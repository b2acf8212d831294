import nodemailer from 'nodemailer';
import pg from 'pg';
import type Mail from 'nodemailer/lib/mailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationChange } from '#contracts/inbox';
import type { InboxWatchAck } from '../realtime/events.ts';
import {
  apiClient,
  body,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';
import { LiveClient } from './support/live.ts';

let filo: TestFilo;
let demo: ApiClient;
let sara: ApiClient;
let luca: ApiClient;
let other: ApiClient;
let support: { id: string; inboundAddress: string };
/** Only Demo (and admins) see it. */
let privateBox: { id: string; inboundAddress: string };
const ids: Record<'demo' | 'sara' | 'luca' | 'other', string> = { demo: '', sara: '', luca: '', other: '' };
const sockets: LiveClient[] = [];

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Elsewhere',
      name: 'Else Owner',
      email: 'owner@elsewhere.example',
      password: 'correct horse battery',
    }),
  );
  for (const [name, c] of [
    ['demo', demo],
    ['sara', sara],
    ['luca', luca],
    ['other', other],
  ] as const)
    ids[name] = (await c.json('GET', '/api/auth/me')).user.id;
  support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  privateBox = await demo.json('POST', '/api/inbox/mailboxes', {
    name: 'Board',
    localPart: 'board',
    memberIds: [ids.demo],
  });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await filo?.close();
});

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

interface Item {
  id: string;
  subject: string;
  status: string;
  assigneeId: string | null;
  tags: string[];
  unread: boolean;
  messageCount: number;
  version: number;
  mailboxId: string;
}

/** Waits until the conversation with this subject has `count` messages, as `who` lists it. */
async function conversation(subject: string, count = 1, who: ApiClient = demo): Promise<Item> {
  let found: Item | undefined;
  await expect
    .poll(
      async () => {
        const page = await who.json<{ items: Item[] }>('GET', '/api/inbox/conversations?limit=100');
        found = page.items.find((c) => c.subject === subject);
        return found?.messageCount ?? 0;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(count);
  return found!;
}

let seq = 0;
/** A fresh conversation in a mailbox (delivered over SMTP, processed by the job). */
async function newConversation(mailbox = support, subject = `Question ${++seq}`) {
  const messageId = `<q${seq}-${Date.now()}@customer.example>`;
  await deliver({
    from: 'Carla Customer <carla@customer.example>',
    to: mailbox.inboundAddress,
    subject,
    text: `About ${subject}`,
    messageId,
  });
  return { ...(await conversation(subject)), messageId };
}

async function live(client: ApiClient): Promise<LiveClient> {
  const socket = new LiveClient(filo.baseUrl, { cookie: client.cookie });
  sockets.push(socket);
  await socket.ready();
  return socket;
}

/** Resolves with what `check` returns once it is truthy (polled). */
async function until<T>(check: () => T | undefined | false, timeout = 10_000): Promise<T> {
  let value: T | undefined | false;
  await expect.poll(() => (value = check()), { timeout, interval: 20 }).toBeTruthy();
  return value as T;
}

/** A socket that follows the lists of the mailboxes its user sees; records each `conversation:updated`. */
async function inboxListener(client: ApiClient) {
  const socket = await live(client);
  const changes: ConversationChange[] = [];
  socket.socket.on('conversation:updated', (change) => changes.push(change));
  const ack: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
  expect(ack.ok).toBe(true);
  return { socket, changes, ack };
}

describe('PATCH /api/inbox/conversations/:id', () => {
  it('refuses bad input with a 400 naming the field, and changes nothing', async () => {
    const c = await newConversation();
    const path = `/api/inbox/conversations/${c.id}`;
    const cases: [unknown, string][] = [
      [{ status: 'archived' }, 'status'],
      [{ status: 'snoozed' }, 'snoozedUntil'],
      [{ status: 'snoozed', snoozedUntil: new Date(Date.now() - 60_000).toISOString() }, 'snoozedUntil'],
      [{ status: 'snoozed', snoozedUntil: 'tomorrow' }, 'snoozedUntil'],
      [{ snoozedUntil: new Date(Date.now() + 60_000).toISOString() }, 'snoozedUntil'],
      [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
      [{ tags: ['ok', '  '] }, 'tags.1'],
      [{ tags: ['no<script>'] }, 'tags.0'],
      [{ assigneeId: 'nobody' }, 'assigneeId'],
      [{ assigneeId: ids.other }, 'assigneeId'],
      [{ version: 'one', status: 'closed' }, 'version'],
      [{ colour: 'red' }, 'body'],
      [{}, 'body'],
    ];
    for (const [payload, field] of cases) {
      const res = await demo.call('PATCH', path, payload);
      const data = await body(res);
      expect(`${JSON.stringify(payload)} -> ${res.status} ${data.error.code}`).toBe(
        `${JSON.stringify(payload)} -> 400 validation_failed`,
      );
      expect(Object.keys(data.error.fields ?? {}), JSON.stringify(payload)).toContain(field);
    }
    const after = await demo.json('GET', path);
    expect(after).toMatchObject({ status: 'open', assigneeId: null, tags: [], version: c.version });
  });

  it('refuses an assignee who cannot see the mailbox', async () => {
    const c = await newConversation(privateBox);
    const res = await demo.call('PATCH', `/api/inbox/conversations/${c.id}`, { assigneeId: ids.sara });
    expect(res.status).toBe(400);
    expect((await body(res)).error.fields).toHaveProperty('assigneeId');
    // Mario is an admin: admins see every mailbox.
    const mario = (await demo.json('GET', '/api/team/members')).items.find(
      (m: { email: string }) => m.email === 'mario@filo.local',
    );
    const ok = await demo.json('PATCH', `/api/inbox/conversations/${c.id}`, { assigneeId: mario.userId });
    expect(ok.assigneeId).toBe(mario.userId);
  });

  it('assigns, sets status and normalized tags, bumps the version and writes the activities', async () => {
    const c = await newConversation();
    const watcher = await live(sara);
    const watch = await watcher.watch('conversation', c.id);
    expect(watch.ok).toBe(true);
    const updated = await demo.json('PATCH', `/api/inbox/conversations/${c.id}`, {
      assigneeId: ids.sara,
      status: 'pending',
      tags: [' Urgent ', 'urgent', 'VIP  client', 'billing'],
      version: c.version,
    });
    expect(updated).toMatchObject({
      status: 'pending',
      assigneeId: ids.sara,
      tags: ['urgent', 'vip-client', 'billing'],
      version: c.version + 1,
    });
    // The conversation's room: record:updated and both activities, live.
    const update = await watcher.until(
      () =>
        watcher.events.find((e) => e.name === 'record:updated' && (e.payload as { id: string }).id === c.id)
          ?.payload as { changes: Record<string, unknown>; version: number } | undefined,
    );
    expect(update).toMatchObject({
      type: 'conversation',
      version: c.version + 1,
      changes: { status: 'pending', assigneeId: ids.sara },
    });
    const types = await watcher.until(() => {
      const mine = watcher.activities.filter((a) => a.entityType === 'conversation' && a.entityId === c.id);
      return mine.length >= 2 && mine.map((a) => a.type).sort();
    });
    expect(types).toEqual(['conversation.assigned', 'conversation.status_changed']);
    const assigned = watcher.activities.find((a) => a.type === 'conversation.assigned' && a.entityId === c.id)!;
    expect(assigned.data).toMatchObject({ from: null, to: ids.sara, assigneeName: 'Sara Bianchi' });
    expect(assigned.actor?.id).toBe(ids.demo);
    // Sara is told she was assigned.
    const notes = await sara.json('GET', '/api/notifications');
    expect(notes.items[0]).toMatchObject({ type: 'assignment', entityType: 'conversation', entityId: c.id });
    // A watcher that comes later catches up on the conversation's own timeline.
    const late = await live(luca);
    const catchUp = await late.watch('conversation', c.id, 0);
    expect(catchUp.ok && catchUp.missed.map((a) => a.type).sort()).toEqual([
      'conversation.assigned',
      'conversation.status_changed',
    ]);
    // A PATCH that changes nothing writes nothing.
    const same = await demo.json('PATCH', `/api/inbox/conversations/${c.id}`, { status: 'pending' });
    expect(same.version).toBe(c.version + 1);
  });

  it('answers 409 to a stale version and keeps the newer change', async () => {
    const c = await newConversation();
    await sara.json('PATCH', `/api/inbox/conversations/${c.id}`, { status: 'closed', version: c.version });
    const stale = await demo.call('PATCH', `/api/inbox/conversations/${c.id}`, {
      assigneeId: ids.demo,
      version: c.version,
    });
    expect(stale.status).toBe(409);
    expect(await errorCode(stale)).toBe('version_conflict');
    const now = await demo.json('GET', `/api/inbox/conversations/${c.id}`);
    expect(now).toMatchObject({ status: 'closed', assigneeId: null, version: c.version + 1 });
    // With the current version (or none) it goes through.
    const ok = await demo.json('PATCH', `/api/inbox/conversations/${c.id}`, {
      assigneeId: ids.demo,
      version: now.version,
    });
    expect(ok).toMatchObject({ assigneeId: ids.demo, version: now.version + 1 });
  });

  it('is a 404 from another workspace, and for a member who cannot see the mailbox', async () => {
    const c = await newConversation(privateBox);
    for (const [who, client] of [
      ['other', other],
      ['sara', sara],
    ] as const) {
      for (const [method, path, payload] of [
        ['PATCH', `/api/inbox/conversations/${c.id}`, { status: 'closed' }],
        ['POST', `/api/inbox/conversations/${c.id}/read`, undefined],
        ['GET', `/api/inbox/conversations/${c.id}/notes`, undefined],
        ['POST', `/api/inbox/conversations/${c.id}/notes`, { content: 'hi' }],
      ] as const) {
        const res = await client.call(method, path, payload);
        expect(`${who} ${method} ${path} -> ${res.status}`).toBe(`${who} ${method} ${path} -> 404`);
      }
    }
    expect((await demo.json('GET', `/api/inbox/conversations/${c.id}`)).status).toBe('open');
    const outsider = await live(other);
    const refused = await outsider.watch('conversation', c.id);
    expect(refused).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const blind = await live(sara);
    expect(await blind.watch('conversation', c.id)).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});

describe('snooze', () => {
  it('reopens a snoozed conversation once its time has come (the job’s sweep, with a given now)', async () => {
    const c = await newConversation();
    const snoozeEnd = new Date(Date.now() + 3_600_000);
    const snoozed = await demo.json('PATCH', `/api/inbox/conversations/${c.id}`, {
      status: 'snoozed',
      snoozedUntil: snoozeEnd.toISOString(),
    });
    expect(snoozed).toMatchObject({ status: 'snoozed', snoozedUntil: snoozeEnd.toISOString() });
    const listener = await inboxListener(sara);
    // Not yet: a minute before, nothing is woken.
    await filo.services.conversations.wakeDue(new Date(snoozeEnd.getTime() - 60_000));
    expect((await demo.json('GET', `/api/inbox/conversations/${c.id}`)).status).toBe('snoozed');
    const woken = await filo.services.conversations.wakeDue(new Date(snoozeEnd.getTime() + 1_000));
    expect(woken).toBeGreaterThanOrEqual(1);
    const after = await demo.json('GET', `/api/inbox/conversations/${c.id}`);
    expect(after).toMatchObject({ status: 'open', snoozedUntil: null, version: snoozed.version + 1 });
    const change = await until(() => listener.changes.find((x) => x.id === c.id));
    expect(change).toMatchObject({ status: 'open', reason: 'updated', actorId: null });
    const watcher = await live(demo);
    const ack = await watcher.watch('conversation', c.id, 0);
    const last = ack.ok ? ack.missed.at(-1) : undefined;
    expect(last).toMatchObject({ type: 'conversation.status_changed', actor: null });
    expect(last?.data).toMatchObject({ from: 'snoozed', to: 'open', reason: 'snooze_ended' });
    // A second sweep finds nothing left to do.
    await filo.services.conversations.wakeDue(new Date(snoozeEnd.getTime() + 2_000));
    expect((await demo.json('GET', `/api/inbox/conversations/${c.id}`)).version).toBe(after.version);
  });

  it('is reopened by a new message from the customer, and the lists hear of it', async () => {
    const c = await newConversation();
    await demo.json('PATCH', `/api/inbox/conversations/${c.id}`, { status: 'closed' });
    const listener = await inboxListener(luca);
    await deliver({
      from: 'carla@customer.example',
      to: support.inboundAddress,
      subject: `Re: ${c.subject}`,
      text: 'One more thing',
      inReplyTo: c.messageId,
      references: [c.messageId],
    });
    const change = await until(() => listener.changes.find((x) => x.id === c.id && x.reason === 'message'), 20_000);
    expect(change).toMatchObject({ status: 'open', messageCount: 2, mailboxId: support.id });
    expect((await demo.json('GET', `/api/inbox/conversations/${c.id}`)).status).toBe('open');
    // Its timeline: closed by Demo, reopened by the customer's mail.
    const watcher = await live(demo);
    const ack = await watcher.watch('conversation', c.id, 0);
    expect(ack.ok && ack.missed.map((a) => [a.type, a.data.to, a.data.reason ?? null, a.actor?.name ?? null])).toEqual([
      ['conversation.status_changed', 'closed', null, 'Demo Owner'],
      ['conversation.status_changed', 'open', 'customer_replied', null],
    ]);
    // More mail on an open conversation is no status change.
    await deliver({
      from: 'carla@customer.example',
      to: support.inboundAddress,
      subject: `Re: ${c.subject}`,
      text: 'And another thing',
      inReplyTo: c.messageId,
    });
    await until(() => listener.changes.find((x) => x.id === c.id && x.messageCount === 3), 20_000);
    const again = await watcher.watch('conversation', c.id, 0);
    expect(again.ok && again.missed).toHaveLength(2);
  });
});

describe('one writer of conversations', () => {
  it('reopens a closed conversation with one status activity, in the transaction that appends the customer’s reply', async () => {
    const c = await newConversation();
    await demo.json('PATCH', `/api/inbox/conversations/${c.id}`, { status: 'closed' });
    const replyId = `<reply-${Date.now()}@customer.example>`;
    await deliver({
      from: 'carla@customer.example',
      to: support.inboundAddress,
      subject: `Re: ${c.subject}`,
      text: 'Still broken',
      messageId: replyId,
      inReplyTo: c.messageId,
    });
    const reopened = await conversation(c.subject, 2);
    expect(reopened.status).toBe('open');
    const client = new pg.Client({ connectionString: filo.databaseUrl });
    await client.connect();
    try {
      // xmin is the id of the transaction that wrote the row: the reply, its timeline entry and the reopening share it.
      const { rows: messages } = await client.query<{ xmin: string }>(
        `select xmin::text from messages where conversation_id = $1 and message_id_header = $2`,
        [c.id, replyId.slice(1, -1)],
      );
      const { rows: reopenings } = await client.query<{ xmin: string; reason: string; actor: string | null }>(
        `select xmin::text, metadata->>'reason' as reason, created_by as actor from activities
          where entity_type = 'conversation' and entity_id = $1 and activity_type = 'conversation.status_changed'
            and metadata->>'to' = 'open'`,
        [c.id],
      );
      expect(messages).toHaveLength(1);
      expect(reopenings).toEqual([{ xmin: messages[0]!.xmin, reason: 'customer_replied', actor: null }]);
    } finally {
      await client.end();
    }
  });
});

describe('channels', () => {
  it('a conversation carries its channel, email, in the list, the detail and a PATCH answer', async () => {
    const c = await newConversation();
    const listed = await demo.json<{ items: (Item & { channel: string })[] }>(
      'GET',
      '/api/inbox/conversations?limit=100',
    );
    expect(listed.items.find((x) => x.id === c.id)?.channel).toBe('email');
    expect((await demo.json('GET', `/api/inbox/conversations/${c.id}`)).channel).toBe('email');
    expect((await demo.json('PATCH', `/api/inbox/conversations/${c.id}`, { tags: ['vip'] })).channel).toBe('email');
  });
});

describe('unread, filters and counts', () => {
  it('keeps unread per user: reading clears it for the reader only, a new message brings it back', async () => {
    const c = await newConversation();
    const find = async (who: ApiClient) =>
      (await who.json<{ items: Item[] }>('GET', '/api/inbox/conversations?limit=100')).items.find(
        (x) => x.id === c.id,
      )!;
    expect((await find(demo)).unread).toBe(true);
    expect((await find(sara)).unread).toBe(true);
    const read = await demo.json('POST', `/api/inbox/conversations/${c.id}/read`, undefined, 200);
    expect(read).toMatchObject({ id: c.id, unread: false });
    expect((await find(demo)).unread).toBe(false);
    expect((await find(sara)).unread).toBe(true);
    const onlyUnread = await demo.json<{ items: Item[] }>('GET', '/api/inbox/conversations?unread=true&limit=100');
    expect(onlyUnread.items.map((x) => x.id)).not.toContain(c.id);
    // Reading twice is harmless.
    await demo.json('POST', `/api/inbox/conversations/${c.id}/read`, undefined, 200);
    await deliver({
      from: 'carla@customer.example',
      to: support.inboundAddress,
      subject: `Re: ${c.subject}`,
      text: 'Hello again',
      inReplyTo: c.messageId,
    });
    await conversation(c.subject, 2);
    expect((await find(demo)).unread).toBe(true);
  });

  it('filters Mine / Unassigned / by mailbox / by status / by tag, and counts them for the sidebar', async () => {
    // A workspace of its own, so that the counts are exact.
    const cora = apiClient(
      filo.baseUrl,
      await signUp(filo, {
        workspace: 'Counts',
        name: 'Cora',
        email: 'cora@counts.example',
        password: 'correct horse battery',
      }),
    );
    const coraId = (await cora.json('GET', '/api/auth/me')).user.id as string;
    const a = await cora.json('POST', '/api/inbox/mailboxes', { name: 'A', localPart: 'a' });
    const b = await cora.json('POST', '/api/inbox/mailboxes', { name: 'B', localPart: 'b' });
    const list = async (query: string) =>
      (await cora.json<{ items: Item[] }>('GET', `/api/inbox/conversations?${query}`)).items
        .map((x) => x.subject)
        .sort();
    for (const [box, subject] of [
      [a, 'a1'],
      [a, 'a2'],
      [a, 'a3'],
      [b, 'b1'],
    ] as const)
      await deliver({ from: 'x@customer.example', to: box.inboundAddress, subject, text: subject });
    await expect.poll(() => list(''), { timeout: 20_000 }).toEqual(['a1', 'a2', 'a3', 'b1']);
    const bySubject: Record<string, Item> = {};
    for (const x of (await cora.json<{ items: Item[] }>('GET', '/api/inbox/conversations')).items)
      bySubject[x.subject] = x;
    const idOf = (subject: string) => bySubject[subject]!.id;
    await cora.json('PATCH', `/api/inbox/conversations/${idOf('a1')}`, { assigneeId: coraId, tags: ['VIP'] });
    await cora.json('PATCH', `/api/inbox/conversations/${idOf('a2')}`, { status: 'closed' });
    await cora.json('PATCH', `/api/inbox/conversations/${idOf('b1')}`, { assigneeId: coraId, status: 'pending' });
    await cora.json('POST', `/api/inbox/conversations/${idOf('b1')}/read`, undefined, 200);

    expect(await list('assignee=me')).toEqual(['a1', 'b1']);
    expect(await list('assignee=none')).toEqual(['a2', 'a3']);
    expect(await list(`mailboxId=${a.id}`)).toEqual(['a1', 'a2', 'a3']);
    expect(await list('status=open')).toEqual(['a1', 'a3']);
    expect(await list(`status=open&assignee=none&mailboxId=${a.id}`)).toEqual(['a3']);
    expect(await list('tag=vip')).toEqual(['a1']);
    expect(await list('unread=true')).toEqual(['a1', 'a2', 'a3']);

    const all = await cora.json('GET', '/api/inbox/counts');
    expect(all).toEqual({
      views: {
        mine: { total: 2, unread: 1 },
        unassigned: { total: 2, unread: 2 },
        all: { total: 4, unread: 3 },
      },
      mailboxes: { [a.id]: { total: 3, unread: 3 }, [b.id]: { total: 1, unread: 0 } },
      statuses: { open: 2, pending: 1, closed: 1, snoozed: 0 },
    });
    const open = await cora.json('GET', '/api/inbox/counts?status=open');
    expect(open.views).toEqual({
      mine: { total: 1, unread: 1 },
      unassigned: { total: 1, unread: 1 },
      all: { total: 2, unread: 2 },
    });
    expect(open.mailboxes).toEqual({ [a.id]: { total: 2, unread: 2 }, [b.id]: { total: 0, unread: 0 } });
    expect(open.statuses).toEqual(all.statuses);
    expect((await cora.call('GET', '/api/inbox/counts?status=nope')).status).toBe(400);
    // Another workspace's counts know nothing of these.
    const theirs = await demo.json('GET', '/api/inbox/counts');
    expect(Object.keys(theirs.mailboxes)).not.toContain(a.id);
  });
});

describe('internal notes on a conversation', () => {
  it('notifies a mentioned teammate at once and puts the note on the conversation’s timeline', async () => {
    const c = await newConversation();
    const saraSocket = await live(sara);
    const watcher = await live(luca);
    expect((await watcher.watch('conversation', c.id)).ok).toBe(true);
    const note = await demo.json('POST', `/api/inbox/conversations/${c.id}/notes`, {
      content: 'Sara, can you take this one? **Priority** customer',
      mentions: [ids.sara, ids.demo],
    });
    expect(note).toMatchObject({ entityType: 'conversation', entityId: c.id, mentions: [ids.sara, ids.demo] });
    const notified = await saraSocket.until(
      () =>
        saraSocket.events.find((e) => e.name === 'notification:new')?.payload as
          { notification: { type: string; entityType: string; entityId: string; title: string } } | undefined,
    );
    expect(notified.notification).toMatchObject({ type: 'mention', entityType: 'conversation', entityId: c.id });
    expect(notified.notification.title).toContain(c.subject);
    const added = await watcher.until(() =>
      watcher.activities.find((a) => a.type === 'note.added' && a.entityId === c.id),
    );
    expect(added).toMatchObject({ entityType: 'conversation', companyId: null });
    // No self-notification for Demo.
    const mine = await demo.json('GET', '/api/notifications');
    expect(mine.items.some((n: { noteId: string }) => n.noteId === note.id)).toBe(false);
    const listed = await sara.json('GET', `/api/inbox/conversations/${c.id}/notes`);
    expect(listed.items.map((n: { id: string }) => n.id)).toEqual([note.id]);
    // Edited through the notes API like any note: the timeline hears of it.
    await demo.json('PATCH', `/api/crm/notes/${note.id}`, { content: 'Taken care of' });
    await watcher.until(() => watcher.activities.find((a) => a.type === 'note.updated' && a.entityId === c.id));
  });

  it('refuses to mention someone who cannot see the mailbox, and an empty note', async () => {
    const c = await newConversation(privateBox);
    const res = await demo.call('POST', `/api/inbox/conversations/${c.id}/notes`, {
      content: 'hey @Sara',
      mentions: [ids.sara],
    });
    expect(res.status).toBe(400);
    expect((await body(res)).error.fields).toHaveProperty('mentions');
    const empty = await demo.call('POST', `/api/inbox/conversations/${c.id}/notes`, { content: '  ' });
    expect(empty.status).toBe(400);
    expect((await demo.json('GET', `/api/inbox/conversations/${c.id}/notes`)).items).toEqual([]);
    expect(
      (await sara.json('GET', '/api/notifications')).items.some((n: { entityId: string }) => n.entityId === c.id),
    ).toBe(false);
  });
});

describe('live lists and presence over Socket.io', () => {
  it('sends conversation:updated to everyone who sees the mailbox, and only to them', async () => {
    const shared = await newConversation();
    const hidden = await newConversation(privateBox);
    const saraList = await inboxListener(sara);
    const demoList = await inboxListener(demo);
    expect(saraList.ack.ok && saraList.ack.mailboxIds).toEqual([support.id]);
    expect(demoList.ack.ok && demoList.ack.mailboxIds.sort()).toEqual([support.id, privateBox.id].sort());
    // The private mailbox first: if Sara were to hear of it, she would before the shared one.
    await demo.json('PATCH', `/api/inbox/conversations/${hidden.id}`, { status: 'closed' });
    await demo.json('PATCH', `/api/inbox/conversations/${shared.id}`, { assigneeId: ids.luca, status: 'pending' });
    const seen = await until(() => saraList.changes.find((x) => x.id === shared.id));
    expect(seen).toMatchObject({
      mailboxId: support.id,
      status: 'pending',
      assigneeId: ids.luca,
      reason: 'updated',
      actorId: ids.demo,
      version: shared.version + 1,
    });
    expect(saraList.changes.map((x) => x.id)).not.toContain(hidden.id);
    await until(() => demoList.changes.find((x) => x.id === shared.id));
    expect(demoList.changes.map((x) => x.id)).toContain(hidden.id);
    // New mail reaches the list too.
    await deliver({ from: 'new@customer.example', to: support.inboundAddress, subject: 'Brand new', text: 'hi' });
    const fresh = await until(
      () => saraList.changes.find((x) => x.reason === 'message' && x.messageCount === 1 && x.id !== shared.id),
      20_000,
    );
    expect(fresh).toMatchObject({ mailboxId: support.id, status: 'open', actorId: null });
  });

  it('shows who is viewing and who is replying on a conversation', async () => {
    const c = await newConversation();
    const a = await live(demo);
    const b = await live(luca);
    expect((await a.watch('conversation', c.id)).ok).toBe(true);
    const ack = await b.watch('conversation', c.id);
    expect(ack.ok && ack.presence.map((u) => [u.name, u.state])).toEqual([
      ['Demo Owner', 'viewing'],
      ['Luca Verdi', 'viewing'],
    ]);
    a.socket.emit('presence:set', { type: 'conversation', id: c.id, state: 'replying' });
    const replying = await b.until(() =>
      b.presence.find((p) => p.id === c.id && p.users.some((u) => u.name === 'Demo Owner' && u.state === 'replying')),
    );
    expect(replying.type).toBe('conversation');
    a.close();
    await b.until(() => b.presence.find((p) => p.id === c.id && p.users.every((u) => u.name !== 'Demo Owner')));
  });
});
