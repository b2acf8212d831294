import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxWatchAck, SessionInfo, SimpleAck } from '../realtime/events.ts';
import { rooms } from '../realtime/events.ts';
import {
  apiClient,
  body,
  createTestDatabase,
  errorCode,
  login,
  startTestFilo,
  type ApiClient,
  type TestFilo,
  invitedMember,
} from './support/harness.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { LiveClient } from './support/live.ts';
import { io as connect } from 'socket.io-client';
import { hashToken } from '../server/auth/sessions.service.ts';

// Two web nodes sharing PostgreSQL and Redis: each socket lives on node B, each change is made through node A.
let redis: RedisServer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let nodeA: TestFilo;
let nodeB: TestFilo;
let owner: ApiClient;
let tenantId: string;
const env = () => ({ DATABASE_URL: db.url, REDIS_URL: redis.url, SECRET_KEY: 's'.repeat(64) });
const clients: LiveClient[] = [];
const PASSWORD = 'Quiet-harbour-lantern-4821';

beforeAll(async () => {
  redis = await startRedis();
  db = await createTestDatabase();
  nodeA = await startTestFilo({ ...env(), ROLES: 'web,worker,smtp' });
  nodeB = await startTestFilo({ ...env(), ROLES: 'web' });
  owner = apiClient(nodeA.baseUrl, await login(nodeA.baseUrl));
  tenantId = (await owner.json('GET', '/api/auth/me')).workspace.id;
});
afterAll(async () => {
  for (const c of clients) c.close();
  await nodeA?.close();
  await nodeB?.close();
  await db?.drop();
  await redis?.stop();
});

/** A signed-in socket on node B. */
async function onB(auth: { cookie?: string; token?: string }): Promise<LiveClient> {
  const client = new LiveClient(nodeB.baseUrl, auth);
  clients.push(client);
  await client.ready();
  return client;
}

/** What node B answers a new connection with these credentials: `ok`, or the refusal's message. */
function handshake(auth: { cookie?: string; token?: string }): Promise<string> {
  const socket = connect(nodeB.baseUrl, {
    transports: ['websocket'],
    reconnection: false,
    ...(auth.cookie ? { extraHeaders: { cookie: auth.cookie } } : {}),
    ...(auth.token ? { auth: { token: auth.token } } : {}),
  });
  return new Promise<string>((resolve) => {
    socket.once('session:ready', () => resolve('ok'));
    socket.once('connect_error', (err) => resolve(err.message));
  }).finally(() => socket.disconnect());
}

const disconnected = (client: LiveClient) =>
  new Promise<string>((resolve) => {
    if (!client.socket.connected) resolve('already');
    client.socket.once('disconnect', resolve);
  });

const login2 = (email: string, password = PASSWORD) => login(nodeA.baseUrl, { email, password });

/** A new member, invited and accepted through node A. */
const newMember = (name: string, role: 'member' | 'admin' = 'member') =>
  invitedMember(nodeA.baseUrl, owner, { name, role, password: PASSWORD });

const company = (name: string) => owner.json<{ id: string }>('POST', '/api/crm/companies', { name, type: 'client' });

let seq = 0;
/** A conversation in a mailbox: mail delivered to node A's gateway and processed by its worker. */
async function newConversation(mailbox: { inboundAddress: string }): Promise<{ id: string; version: number }> {
  const subject = `Revocation question ${++seq}`;
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: nodeA.smtpPort!,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({ from: 'carla@customer.example', to: mailbox.inboundAddress, subject, text: 'Hello' });
  } finally {
    transport.close();
  }
  let found: { id: string; version: number; subject: string } | undefined;
  await expect
    .poll(
      async () => {
        const page = await owner.json('GET', '/api/inbox/conversations?limit=100');
        found = page.items.find((c: { subject: string }) => c.subject === subject);
        return !!found;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(true);
  return found!;
}

/** The user ids of node B's sockets in a room (node B's own view, after its re-checks ran). */
const inRoom = async (room: string) => (await nodeB.realtime!.io.in(room).fetchSockets()).map((s) => s.data.userId);

describe('access ends at once for open sockets on another node', () => {
  it('removing a member disconnects their sockets; a new connection and watch are refused', async () => {
    const rita = await newMember('Rita');
    const target = await company('Removal Spa');
    const socket = await onB({ cookie: rita.cookie });
    expect((await socket.watch('company', target.id)).ok).toBe(true);
    const gone = disconnected(socket);
    await owner.json('DELETE', `/api/team/members/${rita.userId}`);
    await gone;
    expect(await handshake({ cookie: rita.cookie })).toBe('unauthorized');
    // Nothing of the workspace reaches them any more, on either node.
    expect(await inRoom(rooms.tenant(tenantId))).not.toContain(rita.userId);
  });

  it('signing out disconnects that session’s sockets only, on both nodes', async () => {
    const first = await login2('sara@filo.local', 'filo-demo');
    const second = await login2('sara@filo.local', 'filo-demo');
    const signedOut = await onB({ cookie: first });
    // The node that served the sign-out applies it to its own sockets too (the adapter skips the sender).
    const signedOutOnA = new LiveClient(nodeA.baseUrl, { cookie: first });
    clients.push(signedOutOnA);
    await signedOutOnA.ready();
    const other = await onB({ cookie: second });
    const gone = Promise.all([disconnected(signedOut), disconnected(signedOutOnA)]);
    const res = await fetch(`${nodeA.baseUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie: first, origin: nodeA.baseUrl },
    });
    expect(res.status).toBe(204);
    await gone;
    expect(await handshake({ cookie: first })).toBe('unauthorized');
    const target = await company('Still Watched Srl');
    expect((await other.watch('company', target.id)).ok).toBe(true);
    expect(other.socket.connected).toBe(true);
  });

  it('an expired session’s sockets are cut when the purge job removes it', async () => {
    const cookie = await login2('sara@filo.local', 'filo-demo');
    const socket = await onB({ cookie });
    await nodeA.orm.em
      .getConnection()
      .execute(`update sessions set expires_at = now() - interval '1 minute' where token_hash = ?`, [
        hashToken(cookie.slice(cookie.indexOf('=') + 1)),
      ]);
    const gone = disconnected(socket);
    // What the hourly `sessions.purge` job does on a worker (node A here).
    expect(await nodeA.services.sessions.purgeExpired()).toBeGreaterThanOrEqual(1);
    await gone;
  });

  it('revoking an API token disconnects the sockets opened with it', async () => {
    const created = await owner.json('POST', '/api/tokens', { name: 'Wall screen', scope: 'read' });
    const wall = await onB({ token: created.token });
    const ownerSocket = await onB({ cookie: owner.cookie });
    const gone = disconnected(wall);
    await owner.json('DELETE', `/api/tokens/${created.id}`);
    await gone;
    expect(await handshake({ token: created.token })).toBe('unauthorized');
    // The owner's own session is untouched.
    const target = await company('Token Owner Spa');
    expect((await ownerSocket.watch('company', target.id)).ok).toBe(true);
  });

  it('changing the password disconnects the user’s other sessions, not the one that changed it', async () => {
    const paolo = await newMember('Paolo');
    const elsewhere = await onB({ cookie: paolo.cookie });
    const changer = await login2(paolo.email);
    const here = await onB({ cookie: changer });
    const gone = disconnected(elsewhere);
    const res = await apiClient(nodeA.baseUrl, changer).call('POST', '/api/auth/password', {
      current: PASSWORD,
      password: 'Another-quiet-harbour-9137',
    });
    expect(res.status).toBe(204);
    await gone;
    expect(await handshake({ cookie: paolo.cookie })).toBe('unauthorized');
    expect((await fetch(`${nodeA.baseUrl}/api/auth/me`, { headers: { cookie: paolo.cookie } })).status).toBe(401);
    const target = await company('Password Spa');
    expect((await here.watch('company', target.id)).ok).toBe(true);
    await login2(paolo.email, 'Another-quiet-harbour-9137');
  });

  it('a wrong current password or a too short new one changes nothing', async () => {
    const res = await owner.call('POST', '/api/auth/password', { current: 'not-it-at-all', password: PASSWORD });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe('invalid_credentials');
    const short = await owner.call('POST', '/api/auth/password', { current: 'filo-demo', password: 'short' });
    expect(short.status).toBe(400);
    expect((await body(short)).error.fields).toHaveProperty('password');
    await login(nodeA.baseUrl);
  });

  it('a worker-only node cuts sockets too', async () => {
    const walter = await newMember('Walter');
    const socket = await onB({ cookie: walter.cookie });
    const worker = await startTestFilo({ ...env(), ROLES: 'worker' });
    try {
      const gone = disconnected(socket);
      const me = await owner.json('GET', '/api/auth/me');
      const actor = {
        tenantId,
        userId: me.user.id,
        userName: me.user.name,
        role: 'owner' as const,
        scope: 'full' as const,
      };
      await worker.services.team.removeMember(actor, walter.userId);
      await gone;
    } finally {
      await worker.close();
    }
  }, 90_000);
});

// Mail goes through node A's gateway and worker here (as do a second node's start and stop above): 90 s each.
describe('re-authorised at once: demotion and mailbox membership', () => {
  let shared: Promise<{ id: string; version: number }> | undefined;
  /** A conversation of a mailbox open to everyone (made in the first test that needs it: polls need a test). */
  const openConversation = () =>
    (shared ??= owner
      .json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' })
      .then((support) => newConversation(support)));

  /** Changes a conversation through node A (its room gets `record:updated`, its mailbox list `conversation:updated`). */
  async function touch(conversation: { id: string }, tag: string) {
    const current = await owner.json('GET', `/api/inbox/conversations/${conversation.id}`);
    await owner.json('PATCH', `/api/inbox/conversations/${conversation.id}`, {
      tags: [tag],
      version: current.version,
    });
  }

  /** Records every `conversation:updated` the socket receives. */
  function listLog(client: LiveClient) {
    const changes: { id: string; tags: string[] }[] = [];
    client.socket.on('conversation:updated', (change) => changes.push(change));
    return changes;
  }

  const touchedIds = (client: LiveClient) =>
    client.events.filter((e) => e.name === 'record:updated').map((e) => (e.payload as { id: string }).id);

  it('a demoted admin stops seeing a restricted mailbox’s conversation, its list and its live events', async () => {
    const board = await owner.json('POST', '/api/inbox/mailboxes', {
      name: 'Board',
      localPart: 'board',
      memberIds: [(await owner.json('GET', '/api/auth/me')).user.id],
    });
    const secret = await newConversation(board);
    await owner.json('POST', `/api/inbox/conversations/${secret.id}/notes`, {
      content: 'Internal: the board decided to let them go',
    });
    const members = (await owner.json('GET', '/api/team/members')).items as { userId: string; email: string }[];
    const mario = members.find((m) => m.email === 'mario@filo.local')!;
    const publicConversation = await openConversation();
    const socket = await onB({ cookie: await login2('mario@filo.local', 'filo-demo') });
    const changes = listLog(socket);
    const inbox: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
    expect(inbox.ok && inbox.mailboxIds).toContain(board.id);
    const before = await socket.watch('conversation', secret.id, 0);
    expect(before.ok && before.missed.map((a) => a.type)).toContain('note.added');
    expect((await socket.watch('conversation', publicConversation.id)).ok).toBe(true);

    const reauthorised = new Promise<SessionInfo>((resolve) =>
      socket.socket.on('session:ready', (info) => info.role === 'member' && resolve(info)),
    );
    await owner.json('PATCH', `/api/team/members/${mario.userId}`, { role: 'member' });
    expect((await reauthorised).role).toBe('member');
    expect(await inRoom(rooms.record('conversation', secret.id))).not.toContain(mario.userId);
    expect(await inRoom(rooms.inbox(board.id))).not.toContain(mario.userId);

    // Live events: the restricted conversation's stop; the public one's (sent after them) still arrive.
    await touch(secret, 'after-demotion');
    await touch(publicConversation, 'sentinel-demotion');
    await socket.until(() => touchedIds(socket).includes(publicConversation.id));
    await socket.until(() => changes.some((c) => c.tags.includes('sentinel-demotion')));
    expect(touchedIds(socket)).not.toContain(secret.id);
    expect(changes.filter((c) => c.id === secret.id)).toEqual([]);

    // And a new watch of it is refused, with none of its activities (the internal note).
    const after = await socket.watch('conversation', secret.id, 0);
    expect(after).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(socket.socket.connected).toBe(true);
  }, 90_000);

  it('a member taken off a mailbox stops following its list and its conversation', async () => {
    const me = await owner.json('GET', '/api/auth/me');
    const members = (await owner.json('GET', '/api/team/members')).items as { userId: string; email: string }[];
    const luca = members.find((m) => m.email === 'luca@filo.local')!;
    const team = await owner.json('POST', '/api/inbox/mailboxes', {
      name: 'Team',
      localPart: 'team',
      memberIds: [me.user.id, luca.userId],
    });
    const conversation = await newConversation(team);
    const publicConversation = await openConversation();
    const socket = await onB({ cookie: await login2('luca@filo.local', 'filo-demo') });
    const changes = listLog(socket);
    const inbox: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
    expect(inbox.ok && inbox.mailboxIds).toContain(team.id);
    expect((await socket.watch('conversation', conversation.id)).ok).toBe(true);
    expect((await socket.watch('conversation', publicConversation.id)).ok).toBe(true);

    await owner.json('PATCH', `/api/inbox/mailboxes/${team.id}`, { memberIds: [me.user.id] });
    await expect.poll(() => inRoom(rooms.inbox(team.id)), { timeout: 10_000 }).not.toContain(luca.userId);
    await expect
      .poll(() => inRoom(rooms.record('conversation', conversation.id)), { timeout: 10_000 })
      .not.toContain(luca.userId);

    await touch(conversation, 'after-removal');
    await touch(publicConversation, 'sentinel-removal');
    await socket.until(() => changes.some((c) => c.tags.includes('sentinel-removal')));
    await socket.until(() => touchedIds(socket).filter((id) => id === publicConversation.id).length >= 1);
    expect(changes.filter((c) => c.id === conversation.id)).toEqual([]);
    expect(touchedIds(socket)).not.toContain(conversation.id);

    const again: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
    expect(again.ok && again.mailboxIds).not.toContain(team.id);
    expect(await socket.watch('conversation', conversation.id)).toMatchObject({ ok: false });
  }, 90_000);
});

describe('every handler checks the database, not the handshake', () => {
  it('with the change never announced, a removed member’s watch is refused and their socket closed', async () => {
    const gina = await newMember('Gina');
    const socket = await onB({ cookie: gina.cookie });
    const target = await company('Missed Hook Spa');
    // As if the announcement were lost: node A does not tell anyone.
    const slot = nodeA.services.access.target;
    nodeA.services.access.target = undefined;
    try {
      await owner.json('DELETE', `/api/team/members/${gina.userId}`);
    } finally {
      nodeA.services.access.target = slot;
    }
    expect(socket.socket.connected).toBe(true);
    const gone = disconnected(socket);
    expect(await socket.watch('company', target.id)).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    await gone;
  });

  it('with the change never announced, inbox:watch lists only what the demoted user sees now', async () => {
    const nina = await newMember('Nina', 'admin');
    const me = await owner.json('GET', '/api/auth/me');
    const vault = await owner.json('POST', '/api/inbox/mailboxes', {
      name: 'Vault',
      localPart: 'vault',
      memberIds: [me.user.id],
    });
    const socket = await onB({ cookie: nina.cookie });
    const first: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
    expect(first.ok && first.mailboxIds).toContain(vault.id);
    const slot = nodeA.services.access.target;
    nodeA.services.access.target = undefined;
    try {
      await owner.json('PATCH', `/api/team/members/${nina.userId}`, { role: 'member' });
    } finally {
      nodeA.services.access.target = slot;
    }
    const second: InboxWatchAck = await socket.socket.emitWithAck('inbox:watch', {});
    expect(second.ok && second.mailboxIds).not.toContain(vault.id);
    expect(await inRoom(rooms.inbox(vault.id))).not.toContain(nina.userId);
  });
});

describe('socket payloads and acknowledgements', () => {
  it('a non-function ack or a malformed payload never throws, and the socket keeps working', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const socket = await onB({ cookie: owner.cookie });
      const target = await company('Ack Spa');
      const raw = socket.socket as unknown as { emit(event: string, ...args: unknown[]): void };
      raw.emit('record:unwatch', { type: 'company', id: target.id }, 'not a function');
      raw.emit('record:unwatch', 42, { not: 'a function' });
      raw.emit('presence:set', { type: 'company', id: target.id, state: 'typing' }, 7);
      raw.emit('presence:set', 'nonsense', 'x');
      raw.emit('inbox:watch', null, 'x');
      raw.emit('record:watch', { type: 'company', id: target.id }, 'x');
      raw.emit('record:watch', ['nonsense'], 'x');
      // Handled in order: once this is answered, the ones before it have run.
      const ack = await socket.watch('company', target.id);
      expect(ack.ok).toBe(true);
      const bad: SimpleAck = await socket.socket.emitWithAck('presence:set', {
        type: 'company',
        id: 'nope',
        state: 'typing',
      });
      expect(bad).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
      expect(socket.socket.connected).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
