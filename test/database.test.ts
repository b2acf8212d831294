import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { initORM, migrate, pendingMigrations, type MikroORM } from '../db/orm.ts';
import { DEMO_USERS, seedDemo } from '../db/seeders/demo.seeder.ts';
import { migrationsList } from '../db/migrations/index.ts';
import { databaseUrl, randomDatabaseName, withAdmin } from './support/postgres.ts';
import { createTestDatabase } from './support/harness.ts';
import { readiness } from '../server/filo.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let orm: MikroORM;
beforeAll(async () => {
  db = await createTestDatabase();
  orm = await initORM(db.url);
});
afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
});

const count = async (table: string) =>
  (await orm.em.getConnection().execute<{ n: number }[]>(`select count(*)::int as n from ${table}`))[0]!.n;

describe('migrations', () => {
  it('leaves nothing pending on a migrated database', async () => {
    expect(await pendingMigrations(orm)).toEqual([]);
  });

  it('match the entity definitions exactly (no drift between code and committed SQL)', async () => {
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true });
    // Search machinery lives only in the database: generated tsvector columns, GIN indexes and the exact-name
    // expression indexes (search's first tier) that the ORM never maps.
    const searchOnly =
      /^(drop index "\w+_(search|trgm|tenant_id_lower_name)_index";|alter table "\w+" drop column "search";)$/;
    const drift = diff
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !searchOnly.test(l));
    expect(drift).toEqual([]);
  });

  it('apply from scratch on an empty database, once', async () => {
    const name = randomDatabaseName('filo_t_empty');
    const admin = inject('pgAdminUrl');
    await withAdmin(admin, (c) => c.query(`create database ${name}`));
    const fresh = await initORM(databaseUrl(admin, name));
    try {
      expect(await pendingMigrations(fresh)).toEqual(migrationsList.map((m) => m.name));
      expect(await readiness(fresh).check()).toEqual({
        ready: false,
        checks: { database: 'ok', migrations: 'pending' },
      });
      expect(await migrate(fresh)).toEqual(migrationsList.map((m) => m.name));
      expect(await migrate(fresh)).toEqual([]);
      expect(await readiness(fresh).check()).toEqual({ ready: true, checks: { database: 'ok', migrations: 'ok' } });
      await withAdmin(admin, (c) => c.query(`drop database ${name} with (force)`));
      expect((await readiness(fresh).check()).checks.database).toBe('error');
    } finally {
      await fresh.close(true);
      await withAdmin(admin, (c) => c.query(`drop database if exists ${name} with (force)`));
    }
  });
});

describe('demo seed', () => {
  it('seeds the demo workspace the first time and nothing afterwards', async () => {
    expect(await seedDemo(orm.em.fork())).toBe(true);
    const after = { tenants: await count('tenants'), users: await count('users'), members: await count('memberships') };
    expect(after).toEqual({ tenants: 1, users: DEMO_USERS.length, members: DEMO_USERS.length });
    expect(await seedDemo(orm.em.fork())).toBe(false);
    expect(await count('users')).toBe(DEMO_USERS.length);
    // An empty json default is stored as an empty object, never as the JSON string "{}".
    const kinds = await orm.em
      .getConnection()
      .execute(`select distinct jsonb_typeof(notification_prefs) as kind from users`);
    expect(kinds).toEqual([{ kind: 'object' }]);
  });

  it('does not come back after the demo workspace is deleted', async () => {
    await orm.em.getConnection().execute(`delete from tenants where slug = 'demo'`);
    expect(await seedDemo(orm.em.fork())).toBe(false);
    expect(await count('tenants')).toBe(0);
  });

  it('is safe when two nodes seed at the same moment', async () => {
    await orm.em.getConnection().execute(`delete from app_meta; delete from users; delete from tenants;`);
    const results = await Promise.allSettled([seedDemo(orm.em.fork()), seedDemo(orm.em.fork())]);
    const seeded = results.filter((r) => r.status === 'fulfilled' && r.value === true);
    expect(seeded).toHaveLength(1);
    expect(await count('tenants')).toBe(1);
    expect(await count('users')).toBe(DEMO_USERS.length);
  });
});
