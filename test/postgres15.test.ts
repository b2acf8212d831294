import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../db/embedded.ts';
import { login, startTestFilo, tempDir, type TestFilo } from './support/harness.ts';
import { withAdmin } from './support/postgres.ts';

// Debian's PostgreSQL 15 (the oldest we support), started by hand as the issue asks; .ci/run installs it.
const BIN = '/usr/lib/postgresql/15/bin';
const data = tempDir('filo-pg15-');
let server: ChildProcess | undefined;
let filo: TestFilo | undefined;

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user. */
function runAs(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  return { uid, gid };
}

beforeAll(async () => {
  const ids = runAs();
  chmodSync(data.dir, 0o777);
  const pgdata = path.join(data.dir, 'pgdata');
  const pwfile = path.join(data.dir, 'pw');
  writeFileSync(pwfile, 'secret15\n', { mode: 0o644 });
  execFileSync(`${BIN}/initdb`, ['-D', pgdata, '-U', 'filo', `--pwfile=${pwfile}`, '--auth=scram-sha-256'], {
    ...ids,
    stdio: 'ignore',
  });
  const port = await freePort();
  server = spawn(
    `${BIN}/postgres`,
    ['-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', data.dir],
    {
      ...ids,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let log = '';
    server!.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('ready to accept connections')) resolve();
    });
    server!.once('exit', (code) => reject(new Error(`postgres 15 exited ${code}: ${log}`)));
  });
  await withAdmin(`postgres://filo:secret15@127.0.0.1:${port}/postgres`, (c) => c.query('create database filo'));
  filo = await startTestFilo({ DATABASE_URL: `postgres://filo:secret15@127.0.0.1:${port}/filo` });
});

afterAll(async () => {
  await filo?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGINT');
    await exited;
  }
  data.remove();
});

describe('DATABASE_URL on PostgreSQL 15', () => {
  it('migrates, seeds and serves', async () => {
    const [version] = await filo!.orm.em
      .getConnection()
      .execute<{ server_version_num: string }[]>(`show server_version_num`);
    expect(Number(version!.server_version_num)).toBeGreaterThanOrEqual(150000);
    expect(Number(version!.server_version_num)).toBeLessThan(160000);
    expect((await fetch(`${filo!.baseUrl}/readyz`)).status).toBe(200);
    const cookie = await login(filo!.baseUrl);
    expect((await fetch(`${filo!.baseUrl}/api/auth/me`, { headers: { cookie } })).status).toBe(200);
  });
});
