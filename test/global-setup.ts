import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PgBoss } from 'pg-boss';
import { pino } from 'pino';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { initORM, migrate } from '../db/orm.ts';
import { databaseUrl, randomDatabaseName, withAdmin } from './support/postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the maintenance database of the test PostgreSQL server. */
    pgAdminUrl: string;
    /** A database with every migration applied; each test file clones it. */
    pgTemplate: string;
  }
}

/**
 * One real PostgreSQL for the whole run (embedded, or the server of DATABASE_URL, whose user needs CREATEDB);
 * a migrated template database that every test file copies into a fresh database of its own.
 */
export default async function setup(project: TestProject) {
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  let adminUrl: string;
  let stopServer = async () => {};
  if (process.env.DATABASE_URL) {
    adminUrl = databaseUrl(process.env.DATABASE_URL, 'postgres');
  } else {
    const dir = mkdtempSync(path.join(tmpdir(), 'filo-test-pg-'));
    const embedded = await startEmbeddedPostgres(dir, log);
    adminUrl = embedded.adminUrl;
    stopServer = async () => {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const template = randomDatabaseName('filo_template');
  try {
    // A throwaway server: no flush to disk. Each test file drops its database, and DROP DATABASE waits on a
    // checkpoint that took ~2.5 s of a worker's time with fsync on (under 0.15 s off, docs/testing.md).
    if (!process.env.DATABASE_URL)
      await withAdmin(adminUrl, async (c) => {
        for (const setting of ['fsync', 'synchronous_commit', 'full_page_writes'])
          await c.query(`alter system set ${setting} = off`);
        await c.query('select pg_reload_conf()');
      });
    await withAdmin(adminUrl, (c) => c.query(`create database ${template}`));
    const orm = await initORM(databaseUrl(adminUrl, template));
    try {
      await migrate(orm);
    } finally {
      await orm.close(true);
    }
    // pg-boss's schema too (as server/jobs/jobs.ts makes it): creating it took each test's Filo ~0.9 s at start.
    const boss = new PgBoss({
      connectionString: databaseUrl(adminUrl, template),
      schema: 'pgboss',
      max: 1,
      supervise: false,
      schedule: false,
    });
    await boss.start();
    await boss.stop({ graceful: false });
  } catch (err) {
    // A broken migration must not leave a PostgreSQL running behind the failed run.
    await stopServer();
    throw err;
  }
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);

  return async () => {
    await withAdmin(adminUrl, async (c) => {
      const { rows } = await c.query<{ datname: string }>(
        `select datname from pg_database where datname like 'filo_t_%' or datname = $1`,
        [template],
      );
      for (const { datname } of rows) await c.query(`drop database if exists ${datname} with (force)`);
    });
    await stopServer();
  };
}
