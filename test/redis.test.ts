import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import type { ServerToClientEvents, SessionInfo } from '../realtime/events.ts';
import { rooms } from '../realtime/events.ts';
import { createTestDatabase, login, startTestFilo, type TestFilo } from './support/harness.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { LiveClient } from './support/live.ts';
import { systemActor } from '../server/tenancy.ts';

let redis: RedisServer & { port: number };
const live: LiveClient[] = [];
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let nodeA: TestFilo;
let nodeB: TestFilo;
const sockets: Socket[] = [];

beforeAll(async () => {
  redis = await startRedis();
  db = await createTestDatabase();
  // Nodes of one deployment share SECRET_KEY (it also derives the database application role's password).
  const env = { ROLES: 'web', DATABASE_URL: db.url, REDIS_URL: redis.url, SECRET_KEY: 'r'.repeat(64) };
  nodeA = await startTestFilo(env);
  nodeB = await startTestFilo(env);
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const c of live) c.close();
  await nodeA?.close();
  await nodeB?.close();
  await db?.drop();
  await redis?.stop();
});

describe('two web nodes sharing PostgreSQL and Redis', () => {
  it('accepts a session made on one node on the other', async () => {
    const cookie = await login(nodeA.baseUrl);
    const me = await fetch(`${nodeB.baseUrl}/api/auth/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
  });

  it('delivers an emit from node B to a socket connected to node A', async () => {
    const cookie = await login(nodeA.baseUrl);
    const socket: Socket<ServerToClientEvents> = connect(nodeA.baseUrl, {
      transports: ['websocket'],
      extraHeaders: { cookie },
      reconnection: false,
    });
    sockets.push(socket);
    const info = await new Promise<SessionInfo>((resolve) => socket.once('session:ready', resolve));
    const seenOnB = await nodeB.realtime!.io.in(rooms.user(info.tenantId, info.userId)).fetchSockets();
    expect(seenOnB.map((s) => s.id)).toEqual([socket.id]);
    const received = new Promise<SessionInfo>((resolve) => socket.once('session:ready', resolve));
    nodeB
      .realtime!.io.to(rooms.user(info.tenantId, info.userId))
      .emit('session:ready', { ...info, userName: 'via node B' });
    expect((await received).userName).toBe('via node B');
  });
});

describe('live events across nodes', () => {
  const api = (cookie: string, base: string, method: string, path: string, payload?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { cookie, origin: base, 'content-type': 'application/json' },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    }).then((r) => r.json() as Promise<{ id: string }>);

  it('a note POSTed to node A reaches a watcher on node B, and presence is cluster-wide', async () => {
    const cookie = await login(nodeA.baseUrl);
    const sara = await login(nodeA.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' });
    const company = await api(cookie, nodeA.baseUrl, 'POST', '/api/crm/companies', {
      name: 'Cluster Spa',
      type: 'client',
    });
    const onA = new LiveClient(nodeA.baseUrl, { cookie });
    const onB = new LiveClient(nodeB.baseUrl, { cookie: sara });
    live.push(onA, onB);
    await Promise.all([onA.ready(), onB.ready()]);
    await onA.watch('company', company.id);
    const ack = await onB.watch('company', company.id);
    expect(ack.ok && ack.presence.map((u) => u.name)).toEqual(['Demo Owner', 'Sara Bianchi']);
    await onA.until(() => onA.presence.find((p) => p.users.length === 2));
    await api(cookie, nodeA.baseUrl, 'POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: 'from node A',
    });
    const got = await onB.until(() => onB.activities.find((a) => a.type === 'note.added'));
    expect(got.entityId).toBe(company.id);
  });

  it('a node without the web role (a worker) reaches the web nodes’ sockets through Redis', async () => {
    const worker = await startTestFilo({
      ROLES: 'worker',
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      SECRET_KEY: 'r'.repeat(64),
    });
    try {
      expect(worker.realtime).toBeUndefined();
      const cookie = await login(nodeA.baseUrl);
      const me = (await (await fetch(`${nodeA.baseUrl}/api/auth/me`, { headers: { cookie } })).json()) as {
        workspace: { id: string };
      };
      const onA = new LiveClient(nodeA.baseUrl, { cookie });
      live.push(onA);
      await onA.ready();
      // Work done in the worker process (as a job would): a company made through its services.
      const made = await worker.services.records.create(systemActor(me.workspace.id, 'Worker'), 'company', {
        name: 'Made by a worker',
        type: 'client',
      });
      const got = await onA.until(() => onA.activities.find((a) => a.entityId === made.id));
      expect(got.type).toBe('company.created');
    } finally {
      await worker.close();
    }
  });

  it('resumes fan-out after Redis restarts, without restarting the nodes', async () => {
    const cookie = await login(nodeA.baseUrl);
    const company = await api(cookie, nodeA.baseUrl, 'POST', '/api/crm/companies', {
      name: 'Restart Srl',
      type: 'client',
    });
    const onB = new LiveClient(nodeB.baseUrl, { cookie });
    live.push(onB);
    await onB.ready();
    await onB.watch('company', company.id);
    const port = redis.port;
    await redis.stop();
    redis = await startRedis(port);
    // Nodes reconnect on their own: write, wait up to 1 s for the event to cross, and try again (20 times at most).
    let crossed;
    for (let attempt = 0; attempt < 20 && !crossed; attempt++) {
      await api(cookie, nodeA.baseUrl, 'POST', '/api/crm/notes', {
        entityType: 'company',
        entityId: company.id,
        content: `after restart ${attempt}`,
      });
      crossed = await onB
        .until(() => onB.activities.find((a) => a.type === 'note.added'), 1_000)
        .catch(() => undefined);
    }
    if (!crossed) throw new Error('no event crossed after the Redis restart');
    expect(crossed.entityId).toBe(company.id);
  });
});
