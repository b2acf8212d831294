import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { apiClient, body, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

let filo: TestFilo;
let demo: ApiClient;
let mario: ApiClient;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  mario = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'mario@filo.local', password: 'filo-demo' }));
});
afterAll(() => filo?.close());

interface Versioned {
  id: string;
  version: number;
  [key: string]: unknown;
}

/** One kind of versioned record: how to make one, where it is, and an edit of one text field. */
interface Case {
  name: string;
  path: string;
  table: string;
  create(): Promise<Versioned>;
  field: string;
  /** Timeline entries that an edit writes, to check that a refused edit wrote none. */
  activities(row: Versioned): Promise<number>;
}

const count = async (query: string) => (await demo.json('GET', `/api/crm/timeline?${query}&limit=200`)).items.length;

const company = () => demo.json<Versioned>('POST', '/api/crm/companies', { name: 'Conflitti Srl', type: 'client' });

const cases: Case[] = [
  {
    name: 'company',
    path: '/api/crm/companies',
    table: 'companies',
    create: company,
    field: 'industry',
    activities: (row) => count(`entityType=company&entityId=${row.id}`),
  },
  {
    name: 'contact',
    path: '/api/crm/contacts',
    table: 'contacts',
    create: () => demo.json('POST', '/api/crm/contacts', { firstName: 'Ada', lastName: 'Conti' }),
    field: 'role',
    activities: (row) => count(`entityType=contact&entityId=${row.id}`),
  },
  {
    name: 'deal',
    path: '/api/crm/deals',
    table: 'deals',
    create: () => demo.json('POST', '/api/crm/deals', { title: 'Rinnovo' }),
    field: 'source',
    activities: (row) => count(`entityType=deal&entityId=${row.id}`),
  },
  {
    name: 'note',
    path: '/api/crm/notes',
    table: 'notes',
    async create() {
      const on = await company();
      return demo.json('POST', '/api/crm/notes', { entityType: 'company', entityId: on.id, content: 'First words' });
    },
    field: 'content',
    activities: (row) => count(`entityType=company&entityId=${String(row.entityId)}`),
  },
];

describe.each(cases)('PATCH of a $name with a stale version', (c) => {
  it('answers 409 version_conflict with the current record and who changed it, and changes nothing', async () => {
    const row = await c.create();
    expect(row.version).toBe(1);
    const theirs = await mario.json<Versioned>('PATCH', `${c.path}/${row.id}`, {
      [c.field]: 'Mario was here',
      version: 1,
    });
    expect(theirs).toMatchObject({ [c.field]: 'Mario was here', version: 2 });
    const before = await c.activities(row);

    const stale = await demo.call('PATCH', `${c.path}/${row.id}`, { [c.field]: 'Demo was here', version: 1 });
    expect(stale.status).toBe(409);
    const { error } = await body(stale);
    expect(error).toMatchObject({
      code: 'version_conflict',
      current: { id: row.id, [c.field]: 'Mario was here', version: 2 },
      changedBy: { name: 'Mario Rossi' },
      fields: { version: 'the current version is 2' },
    });
    expect(error.message).toMatch(/Mario Rossi changed this/);
    expect(Date.parse(error.changedAt)).toBeGreaterThanOrEqual(Date.parse(String(theirs.updatedAt)) - 1000);

    // Nothing of the refused edit was written: the record, its version and its timeline are as Mario left them.
    const now =
      c.name === 'note'
        ? (await demo.json('GET', `/api/crm/notes?entityType=company&entityId=${String(row.entityId)}`)).items[0]
        : await demo.json('GET', `${c.path}/${row.id}`);
    expect(now).toMatchObject({ [c.field]: 'Mario was here', version: 2 });
    expect(await c.activities(row)).toBe(before);

    // Reapplied on the current version, the edit goes through.
    const mine = await demo.json<Versioned>('PATCH', `${c.path}/${row.id}`, { [c.field]: 'Demo was here', version: 2 });
    expect(mine).toMatchObject({ [c.field]: 'Demo was here', version: 3 });
  });

  it('refuses a version from the future the same way, and a malformed one as bad input', async () => {
    const row = await c.create();
    const ahead = await demo.call('PATCH', `${c.path}/${row.id}`, { [c.field]: 'x', version: 7 });
    expect(ahead.status).toBe(409);
    expect((await body(ahead)).error.current.version).toBe(1);
    const bad = await demo.call('PATCH', `${c.path}/${row.id}`, { [c.field]: 'x', version: 'one' });
    expect(bad.status).toBe(400);
    expect((await body(bad)).error).toMatchObject({
      code: 'validation_failed',
      fields: { version: expect.any(String) },
    });
  });

  it('still takes an edit without a version (API clients), and bumps the version', async () => {
    const row = await c.create();
    const first = await demo.json<Versioned>('PATCH', `${c.path}/${row.id}`, { [c.field]: 'one' });
    const second = await mario.json<Versioned>('PATCH', `${c.path}/${row.id}`, { [c.field]: 'two' });
    expect([first.version, second.version]).toEqual([2, 3]);
  });

  it('lets exactly one of two concurrent edits made on the same version win', async () => {
    const row = await c.create();
    const me = (await demo.json('GET', '/api/auth/me')).workspace.id as string;
    // Hold the row so that both requests have read version 1 and wait at their UPDATE: the ORM's `where version`
    // must then refuse the second (a check on load alone would let both through).
    const conn = new pg.Client({ connectionString: filo.orm.config.get('clientUrl') as string });
    await conn.connect();
    try {
      await conn.query('begin');
      await conn.query(`select set_config('app.tenant_id', $1, true)`, [me]);
      await conn.query(`select 1 from ${c.table} where id = $1 for update`, [row.id]);
      const both = Promise.all([
        demo.call('PATCH', `${c.path}/${row.id}`, { [c.field]: 'from demo', version: 1 }),
        mario.call('PATCH', `${c.path}/${row.id}`, { [c.field]: 'from mario', version: 1 }),
      ]);
      // Both wait behind this transaction: directly, or behind the other request that waits for it.
      const waiting = async () =>
        (
          await conn.query(
            `select count(distinct w.pid)::int as n from pg_locks w
              where not w.granted and (pg_backend_pid() = any(pg_blocking_pids(w.pid)) or exists (
                select 1 from pg_locks f where not f.granted and f.pid = any(pg_blocking_pids(w.pid))
                   and pg_backend_pid() = any(pg_blocking_pids(f.pid))))`,
          )
        ).rows[0].n as number;
      await expect.poll(waiting, { timeout: 10_000 }).toBe(2);
      await conn.query('rollback');
      const answers = await both;
      expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
      const winner = await body(answers.find((r) => r.status === 200)!);
      const loser = (await body(answers.find((r) => r.status === 409)!)).error;
      expect(winner.version).toBe(2);
      expect(loser.current).toMatchObject({ [c.field]: winner[c.field], version: 2 });
    } finally {
      await conn.end();
    }
  });
});
