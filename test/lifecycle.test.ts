import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO, login, tempDir } from './support/harness.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from './support/process.ts';

const data = tempDir('filo-lifecycle-');
const running: FiloProcess[] = [];
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  data.remove();
});

async function start(): Promise<FiloProcess> {
  const proc = await spawnFilo({ DATA_DIR: data.dir, NODE_ENV: 'development' });
  running.push(proc);
  await waitHealthy(proc);
  return proc;
}

const smtpBanner = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('data', (d) => {
      resolve(d.toString());
      socket.end('QUIT\r\n');
    });
    socket.once('error', reject);
  });

// Each test starts Filo from nothing or again (embedded PostgreSQL, migrations, demo seed): up to the 90 s
// waitHealthy allows, on a machine busy with other test files.
describe('one process on an embedded PostgreSQL', { timeout: 120_000 }, () => {
  let cookie: string;

  it('starts from nothing: embedded database, migrations, demo seed, HTTP and SMTP', async () => {
    const proc = await start();
    expect((await fetch(`${proc.baseUrl}/readyz`)).status).toBe(200);
    expect(await smtpBanner(proc.smtpPort)).toMatch(/^220 .*Filo mail gateway/);
    expect(proc.output()).toContain('demo workspace seeded');
    expect(existsSync(path.join(data.dir, 'postgres', 'PG_VERSION'))).toBe(true);
    cookie = await login(proc.baseUrl, DEMO);
  });

  it('stops on SIGTERM with exit code 0 within 10 s, and takes PostgreSQL down with it', async () => {
    const proc = running.at(-1)!;
    proc.child.kill('SIGTERM');
    expect(await proc.exited(10_000)).toBe(0);
    expect(proc.output()).toContain('stopped');
    expect(existsSync(path.join(data.dir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(existsSync(path.join(data.dir, 'pg-socket'))).toBe(false);
  });

  it('finds its data again on the next start and seeds nothing twice', async () => {
    const key = readFileSync(path.join(data.dir, 'secret.key'), 'utf8');
    const proc = await start();
    expect(proc.output()).not.toContain('demo workspace seeded');
    const me = await fetch(`${proc.baseUrl}/api/auth/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(readFileSync(path.join(data.dir, 'secret.key'), 'utf8')).toBe(key);
    proc.child.kill('SIGINT');
    expect(await proc.exited(10_000)).toBe(0);
  });

  it('recovers after being killed outright (a PostgreSQL left running is stopped and restarted)', async () => {
    const killed = await start();
    killed.child.kill('SIGKILL');
    await killed.exited(5_000);
    expect(existsSync(path.join(data.dir, 'postgres', 'postmaster.pid'))).toBe(true);
    // The orphaned server's socket and its lock are still there: the next start must get past them.
    expect(readdirSync(path.join(data.dir, 'pg-socket')).filter((f) => f.startsWith('.s.PGSQL.'))).toHaveLength(2);
    const proc = await start();
    expect((await fetch(`${proc.baseUrl}/api/auth/me`, { headers: { cookie } })).status).toBe(200);
    proc.child.kill('SIGTERM');
    expect(await proc.exited(10_000)).toBe(0);
  });
});
