import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createTestDatabase,
  login,
  startTestFilo,
  type ApiClient,
  type TestFilo,
  invitedMember,
} from './support/harness.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { AuthCache } from '../server/auth/auth-cache.ts';
import { hashToken } from '../server/auth/sessions.service.ts';

// Two web nodes on one PostgreSQL and a real Redis, as behind a load balancer: every change is made through node A
// and read on node B, which has no socket at all (it still hears the changes through the adapter).
let redis: RedisServer & { port: number };
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let nodeA: TestFilo;
let nodeB: TestFilo;
let owner: ApiClient;
const PASSWORD = 'Quiet-harbour-lantern-4821';
// A correctness bound from issue 18 (a revoked session is refused on the other node within a second), not a speed figure.
const WITHIN_A_SECOND = { timeout: 1_000, interval: 20 };

beforeAll(async () => {
  redis = await startRedis();
  db = await createTestDatabase();
  const env = { ROLES: 'web', DATABASE_URL: db.url, REDIS_URL: redis.url, SECRET_KEY: 'c'.repeat(64) };
  nodeA = await startTestFilo(env);
  nodeB = await startTestFilo(env);
  owner = apiClient(nodeA.baseUrl, await login(nodeA.baseUrl));
});
afterAll(async () => {
  await nodeA?.close();
  await nodeB?.close();
  await db?.drop();
  await redis?.stop();
});

/** How many credentials a node resolved, by kind and source, from its metrics. */
async function lookups(node: TestFilo, kind: 'session' | 'token', source: 'cache' | 'database'): Promise<number> {
  const { values } = await node.metrics.credentialLookups.get();
  return values.find((v) => v.labels.kind === kind && v.labels.source === source)?.value ?? 0;
}

/** `GET /api/auth/me` on a node with a cookie: its status, and the body when 200. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;
async function me(node: TestFilo, cookie: string): Promise<{ status: number; body?: Body }> {
  const res = await fetch(`${node.baseUrl}/api/auth/me`, { headers: { cookie } });
  return { status: res.status, body: res.status === 200 ? await res.json() : await res.text() };
}

/** Resolves the cookie on a node (B unless said) until it is answered from that node's cache. */
async function cachedOn(cookie: string, node = nodeB): Promise<void> {
  expect((await me(node, cookie)).status).toBe(200);
  const before = await lookups(node, 'session', 'cache');
  expect((await me(node, cookie)).status).toBe(200);
  expect(await lookups(node, 'session', 'cache')).toBe(before + 1);
}

/** A new member, invited and accepted through node A. */
const newMember = (name: string, role: 'member' | 'admin' = 'member') =>
  invitedMember(nodeA.baseUrl, owner, { name, role, password: PASSWORD });

describe('a session resolved on node B without a database round trip', () => {
  it('works on both nodes, and B answers from its cache while its database look-ups do not grow', async () => {
    const cookie = await login(nodeA.baseUrl);
    expect((await me(nodeA, cookie)).status).toBe(200);
    expect((await me(nodeB, cookie)).body.user.email).toBe('demo@filo.local');
    const fromDatabase = await lookups(nodeB, 'session', 'database');
    const fromCache = await lookups(nodeB, 'session', 'cache');
    for (let i = 0; i < 20; i++) expect((await me(nodeB, cookie)).status).toBe(200);
    expect(await lookups(nodeB, 'session', 'database')).toBe(fromDatabase);
    expect(await lookups(nodeB, 'session', 'cache')).toBe(fromCache + 20);
  });

  it('still slides the session’s expiry, at most every 5 minutes, not on every request', async () => {
    const cookie = await login(nodeA.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' });
    const tokenHash = hashToken(cookie.slice(cookie.indexOf('=') + 1));
    const sql = nodeA.orm.em.getConnection();
    const age = async () =>
      (
        await sql.execute<{ age: number }[]>(
          `select extract(epoch from now() - last_seen_at)::float8 as age from sessions where token_hash = ?`,
          [tokenHash],
        )
      )[0]!.age;
    const sixMinutesAgo = () =>
      sql.execute(`update sessions set last_seen_at = now() - interval '6 minutes' where token_hash = ?`, [tokenHash]);
    await sixMinutesAgo();
    expect((await me(nodeB, cookie)).status).toBe(200);
    expect(await age()).toBeLessThan(60);
    // Read back as just seen, the cached session is not written again by the requests that follow.
    await sixMinutesAgo();
    await cachedOn(cookie);
    for (let i = 0; i < 5; i++) expect((await me(nodeB, cookie)).status).toBe(200);
    expect(await age()).toBeGreaterThan(300);
  });

  it('signing out on A is refused on B within a second; another session of the user keeps working', async () => {
    const leaving = await login(nodeA.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' });
    const staying = await login(nodeA.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' });
    await cachedOn(leaving);
    await cachedOn(staying);
    const res = await fetch(`${nodeA.baseUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie: leaving, origin: nodeA.baseUrl },
    });
    expect(res.status).toBe(204);
    await expect.poll(async () => (await me(nodeB, leaving)).status, WITHIN_A_SECOND).toBe(401);
    expect((await me(nodeB, staying)).status).toBe(200);
  });

  it('a member removed on A is refused on B within a second', async () => {
    const rita = await newMember('Rita');
    await cachedOn(rita.cookie);
    await owner.json('DELETE', `/api/team/members/${rita.userId}`);
    await expect.poll(async () => (await me(nodeB, rita.cookie)).status, WITHIN_A_SECOND).toBe(401);
  });

  it('a role changed on A is the role B sees within a second', async () => {
    const aldo = await newMember('Aldo', 'admin');
    await cachedOn(aldo.cookie);
    expect((await me(nodeB, aldo.cookie)).body.role).toBe('admin');
    await owner.json('PATCH', `/api/team/members/${aldo.userId}`, { role: 'member' });
    await expect.poll(async () => (await me(nodeB, aldo.cookie)).body.role, WITHIN_A_SECOND).toBe('member');
    // And B acts on it: a member may not change roles.
    const res = await apiClient(nodeB.baseUrl, aldo.cookie).call('PATCH', `/api/team/members/${aldo.userId}`, {
      role: 'admin',
    });
    expect(res.status).toBe(403);
  });

  it('a password changed on A ends the user’s other sessions on B within a second, not the changer’s', async () => {
    const paolo = await newMember('Paolo');
    const changer = await login(nodeA.baseUrl, { email: paolo.email, password: PASSWORD });
    await cachedOn(paolo.cookie);
    await cachedOn(changer);
    const res = await apiClient(nodeA.baseUrl, changer).call('POST', '/api/auth/password', {
      current: PASSWORD,
      password: 'Another-quiet-harbour-9137',
    });
    expect(res.status).toBe(204);
    await expect.poll(async () => (await me(nodeB, paolo.cookie)).status, WITHIN_A_SECOND).toBe(401);
    expect((await me(nodeB, changer)).status).toBe(200);
  });

  it('a new name or language, and a renamed workspace, are what B answers within a second', async () => {
    const nora = await newMember('Nora');
    await cachedOn(nora.cookie);
    await cachedOn(owner.cookie);
    await apiClient(nodeA.baseUrl, nora.cookie).json('PATCH', '/api/auth/me', { name: 'Nora Renamed', locale: 'en' });
    await expect
      .poll(async () => (await me(nodeB, nora.cookie)).body.user, WITHIN_A_SECOND)
      .toMatchObject({ name: 'Nora Renamed', locale: 'en' });
    await owner.json('PATCH', '/api/team/workspace', { name: 'Renamed Workspace' });
    await expect
      .poll(async () => (await me(nodeB, owner.cookie)).body.workspace.name, WITHIN_A_SECOND)
      .toBe('Renamed Workspace');
  });
});

describe('API tokens cached on node B', () => {
  const bearer = (token: string, method = 'GET', path = '/api/crm/companies', payload?: unknown) =>
    apiClient(nodeB.baseUrl, token, true).call(method, path, payload);

  it('are answered from the cache; a change of grants and a revocation on A hold on B within a second', async () => {
    const created = await owner.json('POST', '/api/tokens', { name: 'Cached', scope: 'read' });
    expect((await bearer(created.token)).status).toBe(200);
    const fromDatabase = await lookups(nodeB, 'token', 'database');
    for (let i = 0; i < 5; i++) expect((await bearer(created.token)).status).toBe(200);
    expect(await lookups(nodeB, 'token', 'database')).toBe(fromDatabase);
    const write = () => bearer(created.token, 'POST', '/api/crm/companies', { name: 'Granted Spa', type: 'client' });
    expect((await write()).status).toBe(403);

    await owner.json('PATCH', `/api/tokens/${created.id}`, { grants: [{ family: 'crm', access: 'write' }] });
    await expect.poll(async () => (await write()).status, WITHIN_A_SECOND).toBe(201);

    await owner.json('DELETE', `/api/tokens/${created.id}`);
    await expect.poll(async () => (await bearer(created.token)).status, WITHIN_A_SECOND).toBe(401);
  });
});

describe('while Redis is away', () => {
  it('node B serves no session from its cache, and once Redis is back a sign-out on A holds on B within a second', async () => {
    const cookie = await login(nodeA.baseUrl, { email: 'mario@filo.local', password: 'filo-demo' });
    await cachedOn(cookie);
    await redis.stop();
    await expect.poll(() => nodeB.realtime!.redis!(), { timeout: 15_000 }).toBe('down');
    // Changes made meanwhile cannot reach B: every request reads the database.
    const fromDatabase = await lookups(nodeB, 'session', 'database');
    for (let i = 0; i < 3; i++) expect((await me(nodeB, cookie)).status).toBe(200);
    expect(await lookups(nodeB, 'session', 'database')).toBe(fromDatabase + 3);

    redis = await startRedis(redis.port);
    for (const node of [nodeA, nodeB]) await expect.poll(() => node.realtime!.redis!(), { timeout: 20_000 }).toBe('ok');
    await cachedOn(cookie);
    const res = await fetch(`${nodeA.baseUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, origin: nodeA.baseUrl },
    });
    expect(res.status).toBe(204);
    await expect.poll(async () => (await me(nodeB, cookie)).status, WITHIN_A_SECOND).toBe(401);
  }, 60_000);
});

describe('AuthCache', () => {
  const entry = (userId: string, expiresAt: number | null = null) => ({
    value: userId,
    tenantId: 't1',
    userId,
    expiresAt,
  });

  it('never serves an entry past its credential’s expiry or its own time', () => {
    const cache = new AuthCache<string>({ ttlMs: 1_000 });
    cache.set('a', entry('u1', 5_500), cache.begin(), 5_000);
    expect(cache.get('a', 5_400)?.value).toBe('u1');
    expect(cache.get('a', 5_500)).toBeUndefined();
    cache.set('b', entry('u2'), cache.begin(), 5_000);
    expect(cache.get('b', 5_999)?.value).toBe('u2');
    expect(cache.get('b', 6_000)).toBeUndefined();
  });

  it('keeps at most its bound, dropping the least recently used first', () => {
    const cache = new AuthCache<string>({ max: 2 });
    cache.set('a', entry('u1'), cache.begin());
    cache.set('b', entry('u2'), cache.begin());
    cache.get('a');
    cache.set('c', entry('u3'), cache.begin());
    expect([cache.get('a')?.value, cache.get('b'), cache.get('c')?.value]).toEqual(['u1', undefined, 'u3']);
  });

  it('does not store a look-up that was under way while a change arrived', () => {
    const cache = new AuthCache<string>();
    const begun = cache.begin();
    cache.forget({ reason: 'role_changed', tenantId: 't1', userId: 'u1' });
    cache.set('a', entry('u1'), begun);
    expect(cache.get('a')).toBeUndefined();
  });

  it('forgets by user and workspace, and serves nothing while its channel is down', () => {
    const cache = new AuthCache<string>();
    for (const [key, user] of [
      ['a', 'u1'],
      ['b', 'u2'],
    ] as const)
      cache.set(key, entry(user), cache.begin());
    cache.forget({ reason: 'logout', tenantId: 't1', userId: 'u1' });
    expect([cache.get('a'), cache.get('b')?.value]).toEqual([undefined, 'u2']);
    cache.forget({ reason: 'password_changed', userId: 'u2' });
    expect(cache.get('b')).toBeUndefined();
    cache.set('c', entry('u3'), cache.begin());
    cache.trusted = () => false;
    expect(cache.get('c')).toBeUndefined();
    cache.set('c', entry('u3'), cache.begin());
    cache.trusted = () => true;
    expect(cache.get('c')).toBeUndefined();
  });
});

describe('two web nodes without Redis', () => {
  let nodeC: TestFilo;
  let nodeD: TestFilo;
  beforeAll(async () => {
    const env = { ROLES: 'web', DATABASE_URL: db.url, SECRET_KEY: 'c'.repeat(64) };
    nodeC = await startTestFilo(env);
    nodeD = await startTestFilo(env);
  }, 90_000);
  afterAll(async () => {
    await nodeC?.close();
    await nodeD?.close();
  });

  it('hear each other’s changes through PostgreSQL NOTIFY: a sign-out on one is refused on the other within a second', async () => {
    const cookie = await login(nodeC.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' });
    await cachedOn(cookie, nodeD);
    const res = await fetch(`${nodeC.baseUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, origin: nodeC.baseUrl },
    });
    expect(res.status).toBe(204);
    await expect.poll(async () => (await me(nodeD, cookie)).status, WITHIN_A_SECOND).toBe(401);
  });

  it('hear a worker-only node’s changes too: a member it removes is refused on a web node within a second', async () => {
    const walter = await newMember('Walter');
    await cachedOn(walter.cookie, nodeD);
    const worker = await startTestFilo({ ROLES: 'worker', DATABASE_URL: db.url, SECRET_KEY: 'c'.repeat(64) });
    try {
      const { user, workspace } = (await me(nodeA, owner.cookie)).body;
      const actor = {
        tenantId: workspace.id,
        userId: user.id,
        userName: user.name,
        role: 'owner',
        scope: 'full',
      } as const;
      await worker.services.team.removeMember(actor, walter.userId);
      await expect.poll(async () => (await me(nodeD, walter.cookie)).status, WITHIN_A_SECOND).toBe(401);
    } finally {
      await worker.close();
    }
  }, 90_000);
});
