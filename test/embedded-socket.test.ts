import { existsSync, readdirSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedBuffersMb, startEmbeddedPostgres } from '../db/embedded.ts';
import { loadConfig } from '../server/config.ts';
import { startFilo, type Filo } from '../server/filo.ts';
import { login, tempDir } from './support/harness.ts';

const log = pino({ level: 'silent' });

async function query<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

// Starts a whole Filo on its own embedded PostgreSQL (initdb, migrations): up to a minute on a busy machine.
describe('a Filo on the embedded PostgreSQL talks to it over a Unix socket', { timeout: 120_000 }, () => {
  const data = tempDir('filo-sock-');
  let filo: Filo;
  beforeAll(async () => {
    filo = await startFilo(
      loadConfig({ DATA_DIR: data.dir, PORT: '0', SMTP_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }),
      log,
    );
  });
  afterAll(async () => {
    await filo?.stop();
    data.remove();
  });

  it('hands its pools a URL whose host is the socket folder in the data folder', () => {
    const socketDir = path.join(data.dir, 'pg-socket');
    expect(new URL(filo.databaseUrl).searchParams.get('host')).toBe(socketDir);
    expect(readdirSync(socketDir).some((f) => /^\.s\.PGSQL\.\d+$/.test(f))).toBe(true);
  });

  it('gives PostgreSQL a page cache sized to the machine: an eighth of its memory, 128 MB to 1 GB', async () => {
    const [row] = await query<{ mb: string }>(
      filo.databaseUrl,
      `select (setting::bigint * 8 / 1024)::text as mb from pg_settings where name = 'shared_buffers'`,
    );
    expect(Number(row!.mb)).toBe(sharedBuffersMb(totalmem()));
    expect([2 ** 30, 4 * 2 ** 30, 24 * 2 ** 30].map(sharedBuffersMb)).toEqual([128, 512, 1024]);
  });

  it('the ORM, the hot-read pool and pg-boss all connect over the socket (no client address)', async () => {
    const [me] = await filo.orm.em
      .getConnection()
      .execute<{ addr: string | null; role: string }[]>('select inet_client_addr() as addr, current_user as role');
    expect(me).toEqual({ addr: null, role: expect.stringMatching(/^filo_app/) });
    // A company list is a hot read: the `filo-hot` pool has a connection of its own after it.
    const base = `http://127.0.0.1:${filo.httpPort}`;
    const cookie = await login(base);
    const list = await fetch(`${base}/api/crm/companies?limit=5`, { headers: { cookie } });
    expect(list.status).toBe(200);
    const backends = await query<{ application_name: string; client_addr: string | null; client_port: number }>(
      filo.databaseUrl,
      `select application_name, client_addr, client_port from pg_stat_activity
        where datname = 'filo' and backend_type = 'client backend' and pid <> pg_backend_pid()`,
    );
    const names = backends.map((b) => b.application_name);
    expect(names).toContain('filo-hot');
    expect(names.some((n) => /pgboss|pg-boss/.test(n))).toBe(true);
    // PostgreSQL reports a Unix-socket client with no address and port -1.
    expect(backends.filter((b) => b.client_addr !== null || b.client_port !== -1)).toEqual([]);
  });
});

describe('the socket folder of the embedded server', { timeout: 120_000 }, () => {
  it('is removed on stop, and a data folder too deep for a socket path gets a private one under tmpdir', async () => {
    const data = tempDir('filo-sock-long-');
    try {
      // sun_path holds 108 bytes: this data folder leaves no room for `/pg-socket/.s.PGSQL.<port>`.
      const deep = path.join(data.dir, 'd'.repeat(100));
      const db = await startEmbeddedPostgres(deep, log);
      const socketDir = new URL(db.url).searchParams.get('host')!;
      try {
        expect(path.dirname(socketDir)).toBe(tmpdir());
        expect(existsSync(path.join(deep, 'pg-socket'))).toBe(false);
        const [row] = await query<{ addr: string | null }>(db.url, 'select inet_client_addr() as addr');
        expect(row).toEqual({ addr: null });
        // The TCP listener stays: the admin URL (test set-up, `filo backup` beside a running Filo) goes that way.
        const [admin] = await query<{ addr: string | null }>(db.adminUrl, 'select inet_client_addr() as addr');
        expect(admin).toEqual({ addr: '127.0.0.1' });
      } finally {
        await db.stop();
      }
      expect(existsSync(socketDir)).toBe(false);
    } finally {
      data.remove();
    }
  });
});
