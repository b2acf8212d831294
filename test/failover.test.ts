import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, login, tempDir } from './support/harness.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from './support/process.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { LiveClient } from './support/live.ts';

// Two real Filo processes sharing PostgreSQL and Redis, as behind a load balancer.
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let redis: RedisServer;
const nodes: FiloProcess[] = [];
const clients: LiveClient[] = [];
const dirs = [tempDir('filo-node-a-'), tempDir('filo-node-b-')];

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await startRedis();
  for (const d of dirs) {
    const node = await spawnFilo({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      SECRET_KEY: 'f'.repeat(64),
      DATA_DIR: d.dir,
      ROLES: 'web',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
    });
    nodes.push(node);
    await waitHealthy(node);
  }
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) if (n.child.exitCode === null) n.child.kill('SIGKILL');
  await db?.drop();
  await redis?.stop();
  for (const d of dirs) d.remove();
});

describe('a node dies', () => {
  it('its clients reconnect to the other node and, watching with `since`, miss nothing', async () => {
    const [a, b] = nodes as [FiloProcess, FiloProcess];
    const cookie = await login(a.baseUrl);
    const post = (path: string, payload: unknown) =>
      fetch(`${a.baseUrl}${path}`, {
        method: 'POST',
        headers: { cookie, origin: a.baseUrl, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      }).then((r) => r.json() as Promise<{ id: string }>);
    const company = await post('/api/crm/companies', { name: 'Failover Spa', type: 'client' });

    const onB = new LiveClient(b.baseUrl, { cookie });
    clients.push(onB);
    await onB.ready();
    const ack = await onB.watch('company', company.id);
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    await post('/api/crm/notes', { entityType: 'company', entityId: company.id, content: 'before the crash' });
    const seen = await onB.until(() => onB.activities.find((x) => x.type === 'note.added'));
    let lastSeq = seen.seq;

    const disconnected = new Promise((r) => onB.socket.once('disconnect', r));
    b.child.kill('SIGKILL');
    await disconnected;
    const written: string[] = [];
    for (let i = 0; i < 10; i++)
      written.push(
        (await post('/api/crm/notes', { entityType: 'company', entityId: company.id, content: `while B is down ${i}` }))
          .id,
      );

    const onA = new LiveClient(a.baseUrl, { cookie });
    clients.push(onA);
    await onA.ready();
    const back = await onA.watch('company', company.id, lastSeq);
    if (!back.ok) throw new Error(JSON.stringify(back));
    expect(back.missed.map((x) => x.data.noteId)).toEqual(written);
    lastSeq = back.lastSeq;
    // And the live stream continues on A.
    await post('/api/crm/notes', { entityType: 'company', entityId: company.id, content: 'after' });
    const next = await onA.until(() => onA.activities.find((x) => x.seq > lastSeq));
    expect(next.type).toBe('note.added');
  });
});
