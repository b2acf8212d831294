import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import type { ServerToClientEvents, SessionInfo } from '../realtime/events.ts';
import { createTestDatabase, login, startTestFilo, type TestFilo } from './support/harness.ts';
import { startRedis, type RedisServer } from './support/redis.ts';

let redis: RedisServer;
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
    const seenOnB = await nodeB.realtime!.io.in(`user:${info.userId}`).fetchSockets();
    expect(seenOnB.map((s) => s.id)).toEqual([socket.id]);
    const received = new Promise<SessionInfo>((resolve) => socket.once('session:ready', resolve));
    nodeB.realtime!.io.to(`user:${info.userId}`).emit('session:ready', { ...info, userName: 'via node B' });
    expect((await received).userName).toBe('via node B');
  });
});
