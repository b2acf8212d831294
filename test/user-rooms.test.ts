import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readOutbox } from '../server/delivery/mailer.ts';
import type { SessionInfo } from '../realtime/events.ts';
import { rooms } from '../realtime/events.ts';
import {
  apiClient,
  createTestDatabase,
  login,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';
import { LiveClient } from './support/live.ts';
import { startRedis, type RedisServer } from './support/redis.ts';

// One person in two workspaces (A: the demo's, B: her own), each with a socket on node B; changes go through node A.
let redis: RedisServer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let nodeA: TestFilo;
let nodeB: TestFilo;
let demo: ApiClient;
let eveInA: ApiClient;
let eveInB: ApiClient;
let eveId: string;
let slugA: string;
let tenantA: string;
let tenantB: string;
const clients: LiveClient[] = [];
const EMAIL = 'eve@both.example';
let password = 'Two-workspaces-lantern-4821';

beforeAll(async () => {
  redis = await startRedis();
  db = await createTestDatabase();
  const env = { DATABASE_URL: db.url, REDIS_URL: redis.url, SECRET_KEY: 's'.repeat(64) };
  nodeA = await startTestFilo({ ...env, ROLES: 'web,worker' });
  nodeB = await startTestFilo({ ...env, ROLES: 'web' });
  demo = apiClient(nodeA.baseUrl, await login(nodeA.baseUrl));
  const meA = await demo.json('GET', '/api/auth/me');
  slugA = meA.workspace.slug;
  tenantA = meA.workspace.id;
  eveInB = apiClient(nodeA.baseUrl, await signUp({ workspace: 'Eve Works', name: 'Eve Both', email: EMAIL, password }));
  const meB = await eveInB.json('GET', '/api/auth/me');
  eveId = meB.user.id;
  tenantB = meB.workspace.id;
  // Invited to the demo workspace, she accepts signed in as that same account.
  const invitation = await demo.json('POST', '/api/team/invitations', { email: EMAIL, role: 'member' });
  const accepted = await eveInB.call('POST', '/api/auth/accept-invite', { token: invitation.token });
  if (accepted.status !== 200) throw new Error(`accept-invite: ${accepted.status} ${await accepted.text()}`);
  eveInA = apiClient(nodeA.baseUrl, accepted.headers.get('set-cookie')!.split(';')[0]!);
  expect((await eveInA.json('GET', '/api/auth/me')).workspace.slug).toBe(slugA);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await nodeA?.close();
  await nodeB?.close();
  await db?.drop();
  await redis?.stop();
});

const post = (path: string, payload: unknown) =>
  fetch(`${nodeA.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: nodeA.baseUrl },
    body: JSON.stringify(payload),
  });

/**
 * A new workspace and its owner's session cookie, through the sign-up endpoint (the harness has no helper for it
 * yet): at once, or after following the confirmation link mailed to the address.
 */
async function signUp(input: { workspace: string; name: string; email: string; password: string }): Promise<string> {
  const res = await post('/api/auth/signup', input);
  let done = res;
  if (res.status === 202) {
    const outbox = nodeA.services.mailer.outboxDir!;
    // The mail is sent after the answer: wait until it is in the outbox (hooks cannot use expect.poll).
    const token = await vi.waitFor(
      async () => {
        for (const { raw } of readOutbox(outbox)) {
          const mail = await simpleParser(raw);
          const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
          const link = mail.text?.match(/signup\/confirm#token=([\w-]+)/);
          if (to?.text === input.email && link) return link[1]!;
        }
        throw new Error(`no confirmation mail to ${input.email}`);
      },
      { timeout: 10_000, interval: 100 },
    );
    done = await post('/api/auth/signup/confirm', { token });
  }
  if (done.status !== 201) throw new Error(`signup: ${done.status} ${await done.text()}`);
  return done.headers.get('set-cookie')!.split(';')[0]!;
}

/** A signed-in socket on node B, with who the server says it is. */
async function onB(cookie: string): Promise<{ client: LiveClient; info: SessionInfo }> {
  const client = new LiveClient(nodeB.baseUrl, { cookie });
  clients.push(client);
  return { client, info: await client.ready() };
}

const disconnected = (client: LiveClient) =>
  new Promise<string>((resolve) => {
    if (!client.socket.connected) resolve('already');
    client.socket.once('disconnect', resolve);
  });

let made = 0;
/** A company made by `as` in its workspace; resolves once `socket` heard of it (a barrier: what came before is in). */
async function barrier(as: ApiClient, socket: LiveClient): Promise<{ id: string }> {
  const created = await as.json<{ id: string }>('POST', '/api/crm/companies', {
    name: `Barrier ${++made}`,
    type: 'client',
  });
  await socket.until(() => socket.activities.some((a) => a.entityId === created.id));
  return created;
}

const company = (as: ApiClient, name: string) =>
  as.json<{ id: string }>('POST', '/api/crm/companies', { name, type: 'client' });

describe('a user in two workspaces', () => {
  it('has a room per workspace: the socket of each is in its own only', async () => {
    const a = await onB(eveInA.cookie);
    const b = await onB(eveInB.cookie);
    expect([a.info.tenantId, b.info.tenantId]).toEqual([tenantA, tenantB]);
    const ids = async (room: string) => (await nodeB.realtime!.io.in(room).fetchSockets()).map((s) => s.id);
    expect(await ids(rooms.user(a.info.tenantId, eveId))).toEqual([a.client.socket.id]);
    expect(await ids(rooms.user(b.info.tenantId, eveId))).toEqual([b.client.socket.id]);
  });

  it('hears a mention made in workspace A on her A socket only, with A’s unread count', async () => {
    const a = (await onB(eveInA.cookie)).client;
    const b = (await onB(eveInB.cookie)).client;
    const target = await company(demo, 'Mentioned In A');
    await demo.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: target.id,
      content: 'Eve, a look please',
      mentions: [eveId],
    });
    const heard = await a.until(
      () =>
        a.events.find((e) => e.name === 'notification:new')?.payload as {
          notification: { entityId: string };
          unread: number;
        },
    );
    expect(heard.notification.entityId).toBe(target.id);
    expect(heard.unread).toBe((await eveInA.json('GET', '/api/notifications?unread=true')).items.length);
    // Whatever A sent before B's own event has arrived: none of it on the B socket.
    await barrier(eveInB, b);
    expect(b.events.filter((e) => e.name === 'notification:new')).toEqual([]);
    expect(b.activities.filter((x) => x.entityId === target.id)).toEqual([]);
  });

  it('shows her presence on A’s records to A only: B’s socket can neither watch them nor hear their presence', async () => {
    const a = (await onB(eveInA.cookie)).client;
    const b = (await onB(eveInB.cookie)).client;
    const owner = (await onB(demo.cookie)).client;
    const inA = await company(demo, 'Presence In A');
    const inB = await company(eveInB, 'Presence In B');
    expect((await owner.watch('company', inA.id)).ok).toBe(true);
    expect((await a.watch('company', inA.id)).ok).toBe(true);
    await owner.until(() => owner.presence.some((p) => p.id === inA.id && p.users.some((u) => u.userId === eveId)));
    expect(await b.watch('company', inA.id)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // And the other way round: her A socket cannot follow B's records.
    expect(await a.watch('company', inB.id)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const own = await b.watch('company', inB.id);
    expect(own.ok && own.presence.map((u) => u.userId)).toEqual([eveId]);
    await barrier(eveInB, b);
    expect(b.presence.filter((p) => p.id === inA.id)).toEqual([]);
    expect(owner.presence.filter((p) => p.id === inB.id)).toEqual([]);
  });

  it('a password change (the account’s) cuts her other sessions in every workspace', async () => {
    const a = (await onB(eveInA.cookie)).client;
    const b = (await onB(eveInB.cookie)).client;
    const aGone = disconnected(a);
    const next = 'Another-two-workspaces-9137';
    expect((await eveInB.call('POST', '/api/auth/password', { current: password, password: next })).status).toBe(204);
    password = next;
    await aGone;
    // The session that changed it stays, socket and all.
    await barrier(eveInB, b);
    expect(b.socket.connected).toBe(true);
    const inA = { email: EMAIL, password, workspace: slugA };
    eveInA = apiClient(nodeA.baseUrl, await login(nodeA.baseUrl, inA));
    expect((await eveInA.json('GET', '/api/auth/me')).workspace.slug).toBe(slugA);
  });

  it('removed from workspace A, she loses her A socket only: the B socket keeps working', async () => {
    const a = (await onB(eveInA.cookie)).client;
    const b = (await onB(eveInB.cookie)).client;
    const inB = await company(eveInB, 'Still Mine');
    expect((await b.watch('company', inB.id)).ok).toBe(true);
    const aGone = disconnected(a);
    await demo.json('DELETE', `/api/team/members/${eveId}`);
    await aGone;
    // Still live in B: her events arrive, her watch stands, a new watch is granted.
    await barrier(eveInB, b);
    expect(b.socket.connected).toBe(true);
    expect((await b.watch('company', inB.id)).ok).toBe(true);
    const ids = async (room: string) => (await nodeB.realtime!.io.in(room).fetchSockets()).map((s) => s.id);
    expect(await ids(rooms.user(tenantA, eveId))).toEqual([]);
    expect(await ids(rooms.user(tenantB, eveId))).toContain(b.socket.id);
  });
});
