import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotReads, tenantFold, tenantStatement } from '../server/db-hot/hot-reads.ts';
import { RecordsService } from '../server/crm/records.service.ts';
import { companyPageJson, companyPagePlan } from '../server/crm/company-list.hot.ts';
import { SearchService } from '../server/crm/search.service.ts';
import { ActivitiesService } from '../server/timeline/activities.service.ts';
import { searchLinked } from '../server/linked-records/linked-records.queries.ts';
import type { Actor } from '../server/tenancy.ts';
import { withAdmin } from './support/postgres.ts';
import { apiClient, body, login, signUp, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

let filo: TestFilo;
let demo: ApiClient;
let other: ApiClient;
let appUrl: string;
let demoActor: Actor;
let otherActor: Actor;
const demoIds: string[] = [];
const otherIds: string[] = [];

const cursorOf = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
/** The member behind a session cookie, as the services see them. */
async function actorOf(client: ApiClient): Promise<Actor> {
  const me = await client.json<{ user: { id: string }; workspace: { id: string } }>('GET', '/api/auth/me');
  return (await filo.services.team.actorFor(me.workspace.id, me.user.id))!;
}

beforeAll(async () => {
  filo = await startTestFilo();
  appUrl = filo.orm.config.get('clientUrl') as string;
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, { workspace: 'Other Hot', name: 'Olga', email: 'olga@hot.test', password: 'a-long-password-1' }),
  );
  await demo.json('POST', '/api/crm/custom-fields', {
    entityType: 'company',
    fieldName: 'tier',
    fieldLabel: 'Tier',
    fieldType: 'text',
  });
  // Repeated names, so that the keyset's id tie-break is exercised; tags, statuses, custom fields to filter on.
  const names = ['Acme', 'Borgo', 'Acme', 'Castello', 'Duomo', 'Acme', 'Etna', 'Borgo', 'Faro', 'Gru', 'Acme', 'Isola'];
  for (const [i, name] of names.entries()) {
    const c = await demo.json<{ id: string }>('POST', '/api/crm/companies', {
      name: `${name} S.r.l.`,
      type: (['client', 'supplier', 'stakeholder'] as const)[i % 3],
      status: i % 4 ? 'active' : 'prospect',
      tags: i % 2 ? ['hot', 'north'] : ['north'],
      annualRevenue: i % 3 ? '1250.50' : undefined,
      billingAddress: i === 1 ? { street: 'Via Roma 1', city: 'Torino' } : undefined,
      customFields: { tier: i % 2 ? 'gold' : 'silver' },
    });
    demoIds.push(c.id);
  }
  // A few updated, so that updatedAt orders differently from createdAt.
  for (const id of [demoIds[3]!, demoIds[0]!])
    await demo.json('PATCH', `/api/crm/companies/${id}`, { industry: 'Food' });
  for (const name of ['Acme Other', 'Zeta Other'])
    otherIds.push((await other.json<{ id: string }>('POST', '/api/crm/companies', { name, type: 'client' })).id);
  demoActor = await actorOf(demo);
  otherActor = await actorOf(other);
});
afterAll(() => filo?.close());

describe('the hot-read pool', () => {
  it('never leaves a tenant on a pooled connection: after a read, after a failed read', async () => {
    const hot = new HotReads(appUrl, { max: 1 });
    try {
      const ids = tenantStatement(`select c.id from companies c where c.tenant_id = filo_tenant.id limit $2`);
      const setting = `select pg_backend_pid() as pid, current_setting('app.tenant_id', true) as tenant`;
      const [before] = (await hot.pool.query<{ pid: number; tenant: string | null }>(setting)).rows;
      expect((await hot.read<{ id: string }>(demoActor.tenantId, ids, [100])).length).toBe(demoIds.length);
      const [after] = (await hot.pool.query<{ pid: number; tenant: string | null }>(setting)).rows;
      // The same connection (a pool of one), and the setting is gone with the statement's implicit transaction.
      expect(after!.pid).toBe(before!.pid);
      expect(after!.tenant ?? '').toBe('');
      // A statement that fails after setting the tenant (a bad cast in the body) leaves nothing behind either.
      const failing = tenantStatement(`select c.id from companies c where c.tenant_id = filo_tenant.id
        and c.created_at > $2::timestamptz limit $3`);
      await expect(hot.read(demoActor.tenantId, failing, ['not a date', 10])).rejects.toMatchObject({ code: '22007' });
      const [afterError] = (await hot.pool.query<{ pid: number; tenant: string | null }>(setting)).rows;
      expect(afterError!.pid).toBe(before!.pid);
      expect(afterError!.tenant ?? '').toBe('');
      // Nor does a read outside a transaction of the ORM's kind see any tenant's rows without one.
      const [{ n }] = (await hot.pool.query<{ n: string }>('select count(*) as n from companies')).rows as [
        { n: string },
      ];
      expect(Number(n)).toBe(0);
    } finally {
      await hot.close();
    }
  });

  it('row-level security decides what a statement sees: another tenant, or none, sees nothing of this one', async () => {
    const hot = new HotReads(appUrl, { max: 2 });
    try {
      // No explicit tenant filter in the body: only the policy, fed by the statement's own set_config, applies.
      const all = tenantStatement(`select c.id from companies c where filo_tenant.id is not null limit $2`);
      const mine = (await hot.read<{ id: string }>(demoActor.tenantId, all, [100])).map((r) => r.id);
      expect(mine.sort()).toEqual([...demoIds].sort());
      const theirs = (await hot.read<{ id: string }>(otherActor.tenantId, all, [100])).map((r) => r.id);
      expect(theirs.sort()).toEqual([...otherIds].sort());
      expect(await hot.read(randomUUID(), all, [100])).toEqual([]);
      // Interleaved on two connections, under generic plans too (after five runs PostgreSQL may reuse one plan).
      for (const client of [await hot.pool.connect(), await hot.pool.connect()]) {
        await client.query('set plan_cache_mode = force_generic_plan');
        client.release();
      }
      const runs = await Promise.all(
        Array.from({ length: 24 }, (_, i) => {
          const actor = i % 2 ? otherActor : demoActor;
          return hot.read<{ id: string }>(actor.tenantId, all, [100]).then((rows) => ({ actor, rows }));
        }),
      );
      for (const { actor, rows } of runs)
        expect(rows.map((r) => r.id).sort()).toEqual([...(actor === demoActor ? demoIds : otherIds)].sort());
    } finally {
      await hot.close();
    }
  });

  it('refuses a statement that could run before its tenant is set', () => {
    expect(() => tenantStatement('select * from companies limit $2')).toThrow(/filo_tenant\.id/);
    expect(() => tenantStatement('select * from companies c where c.tenant_id = filo_tenant.id')).toThrow(/limit/);
    expect(() => tenantFold('select * from companies limit $2', 'count(*)::text')).toThrow(/filo_tenant\.id/);
  });
});

describe('the company list on the hot pool', () => {
  const orm = () =>
    new RecordsService(filo.orm, filo.services.activities, filo.services.customFields, filo.services.publisher);
  const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
  /** Every page of a list over HTTP, following nextCursor. */
  async function walk(query: string, limit: number): Promise<{ ids: string[]; pages: unknown[] }> {
    const ids: string[] = [];
    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = await demo.json(
        'GET',
        `/api/crm/companies?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      ids.push(...page.items.map((c) => c.id));
      pages.push(page.items);
      cursor = page.nextCursor;
    } while (cursor && ids.length < 100);
    return { ids, pages };
  }

  it('answers every filter and sort exactly as the ORM did, page by page', async () => {
    const cases = [
      ['sort=name', {}, { name: 'asc' }],
      ['sort=-name', {}, { name: 'desc' }],
      ['sort=createdAt', {}, { createdAt: 'asc' }],
      ['sort=-createdAt', {}, { createdAt: 'desc' }],
      ['sort=updatedAt', {}, { updatedAt: 'asc' }],
      ['sort=-updatedAt&type=client', { type: 'client' }, { updatedAt: 'desc' }],
      ['q=acme&status=active', { name: { $ilike: '%acme%' }, status: 'active' }, { name: 'asc' }],
      ['tag=hot&sort=-name', { tags: { $contains: ['hot'] } }, { name: 'desc' }],
    ] as const;
    for (const [query, where, orderBy] of cases) {
      const { ids, pages } = await walk(query, 5);
      // The ORM's pages of the same list (its own cursors), for comparison.
      const expected: unknown[] = [];
      let cursor: string | undefined;
      do {
        const page = await orm().list(demoActor, 'company', where as never, { ...orderBy }, 5, cursor);
        expected.push(json(page.items));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(pages, query).toEqual(expected);
      expect(new Set(ids).size, query).toBe(ids.length);
    }
  });

  it('filters on custom fields and assignment, and pages through ties without repeating a row', async () => {
    const gold = await walk('cf.tier=gold&sort=name', 2);
    expect(gold.ids.sort()).toEqual(demoIds.filter((_, i) => i % 2).sort());
    const acme = await walk('q=Acme&sort=name', 1);
    expect(acme.ids.sort()).toEqual(demoIds.filter((_, i) => [0, 2, 5, 10].includes(i)).sort());
    const me = demoActor.userId;
    await demo.json('PATCH', `/api/crm/companies/${demoIds[4]}`, { assignedTo: me });
    expect((await walk(`assignedTo=${me}&sort=name`, 5)).ids).toEqual([demoIds[4]]);
  });

  it('reads the cursors the ORM made before, and answers 400 to cursors of no list of this kind', async () => {
    const ormPage = await orm().list(demoActor, 'company', {}, { name: 'asc' }, 3, undefined);
    const page = await demo.json<{ items: { id: string }[] }>(
      'GET',
      `/api/crm/companies?sort=name&limit=3&cursor=${ormPage.nextCursor}`,
    );
    const all = (await walk('sort=name', 50)).ids;
    expect(page.items.map((c) => c.id)).toEqual(all.slice(3, 6));
    const bad = [
      cursorOf(['Acme S.r.l.', 'not-a-uuid']),
      cursorOf(['Acme S.r.l.']),
      cursorOf([1, 2]),
      cursorOf([null, demoIds[0]]),
      cursorOf(['Acme S.r.l.', demoIds[0], 'x']),
      'garbage',
    ];
    for (const cursor of bad) {
      const res = await demo.call('GET', `/api/crm/companies?sort=name&cursor=${encodeURIComponent(cursor)}`);
      expect(res.status, cursor).toBe(400);
      expect((await body(res)).error.code).toBe('invalid_cursor');
    }
    // A name where a date belongs: the cast fails in PostgreSQL, still a 400.
    const res = await demo.call('GET', `/api/crm/companies?sort=createdAt&cursor=${cursorOf(['Acme', demoIds[0]])}`);
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe('invalid_cursor');
  });

  it('writes the whole page as one text, its cursor as the rows path encodes it, to the last page and an empty one', async () => {
    // Names whose cursors need JSON escapes and several UTF-8 bytes, whose base64 has `+` and `/` (base64url's
    // `-` and `_`), and one longer than a line of PostgreSQL's base64 (76 characters), should it encode them.
    for (const name of ['Caffè "Ò" \\ ??? >>> Srl', 'Ümlaut 😀 ~~~ ??? GmbH', `Long ${'x'.repeat(80)}`])
      await other.json('POST', '/api/crm/companies', { name, type: 'client' });
    const records = filo.services.records;
    const cursors: string[] = [];
    const sorts: Record<string, 'asc' | 'desc'>[] = [
      { name: 'asc' },
      { name: 'desc' },
      { createdAt: 'desc' },
      { updatedAt: 'asc' },
    ];
    for (const orderBy of sorts) {
      let cursor: string | undefined;
      let pages = 0;
      do {
        const text = await records.listJson(otherActor, 'company', {}, { ...orderBy }, 1, cursor);
        const rows = await records.list(otherActor, 'company', {}, { ...orderBy }, 1, cursor);
        expect(text).not.toBeNull();
        expect(JSON.parse(text!)).toEqual(json(rows));
        cursor = rows.nextCursor ?? undefined;
        if (cursor) cursors.push(cursor);
        pages++;
      } while (cursor);
      expect(pages).toBe(5);
    }
    expect(cursors.some((c) => c.includes('-')) && cursors.some((c) => c.includes('_'))).toBe(true);
    expect(cursors.some((c) => c.length > 76)).toBe(true);
    const none = await records.listJson(otherActor, 'company', { status: 'inactive' }, { name: 'asc' }, 50, undefined);
    expect(none).toBe('{"items":[],"nextCursor":null}');
    const timeline = await filo.services.activities.timelineJson(otherActor, { entityType: 'deal', limit: 50 });
    expect(timeline).toBe('{"items":[]}');
  });

  it("never lists another workspace's companies", async () => {
    const theirs = await other.json<{ items: { id: string }[] }>('GET', '/api/crm/companies?q=acme&limit=100');
    expect(theirs.items.map((c) => c.id)).toEqual([otherIds[0]]);
  });
});

describe('timeline and search on the hot pool', () => {
  it('a company timeline is the ORM path’s, and another workspace’s company is a 404', async () => {
    const hotTimeline = filo.services.activities;
    const ormTimeline = new ActivitiesService(filo.orm, filo.services.publisher);
    const q = { entityType: 'company', entityId: demoIds[0], limit: 50 };
    const got = await hotTimeline.timeline(demoActor, q);
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(got).toEqual(await ormTimeline.timeline(demoActor, q));
    const older = await hotTimeline.timeline(demoActor, { ...q, before: got[0]!.seq, limit: 1 });
    expect(older.map((a) => a.seq)).toEqual([got[1]!.seq]);
    await expect(hotTimeline.timeline(otherActor, q)).rejects.toMatchObject({ status: 404 });
    // Over HTTP the page is written as JSON by PostgreSQL: the same activities, field for field.
    const path = `/api/crm/timeline?entityType=company&entityId=${demoIds[0]}&limit=50`;
    expect((await demo.json<{ items: unknown[] }>('GET', path)).items).toEqual(JSON.parse(JSON.stringify(got)));
    const workspace = (await demo.json<{ items: { seq: number }[] }>('GET', '/api/crm/timeline?limit=50')).items;
    expect(workspace).toEqual(JSON.parse(JSON.stringify(await ormTimeline.timeline(demoActor, { limit: 50 }))));
    expect(workspace.length).toBeGreaterThan(10);
    expect((await other.call('GET', path)).status).toBe(404);
  });

  it('pages at a cursor, back and forth, exactly through the first page’s rows (more than five calls a connection)', async () => {
    const timeline = filo.services.activities;
    for (const q of [{ limit: 50 }, { entityType: 'company', entityId: demoIds[3], limit: 50 }]) {
      const all = (await timeline.timeline(demoActor, q)).map((a) => a.seq);
      expect(all.length, JSON.stringify(q)).toBeGreaterThanOrEqual(2);
      const back: number[] = [];
      for (let before = all[0]! + 1; back.length < all.length + 1;) {
        const [next] = await timeline.timeline(demoActor, { ...q, before, limit: 1 });
        if (!next) break;
        back.push((before = next.seq));
      }
      expect(back).toEqual(all);
      const forth: number[] = [];
      for (let after = all.at(-1)! - 1; forth.length < all.length + 1;) {
        const [next] = await timeline.timeline(demoActor, { ...q, after, limit: 1, ascending: true });
        if (!next) break;
        forth.push((after = next.seq));
      }
      expect(forth).toEqual([...all].reverse());
    }
  });

  it('search finds the same hits as the ORM path, linked records included, and nothing of another workspace', async () => {
    const ormSearch = new SearchService(filo.orm);
    ormSearch.linked = searchLinked;
    for (const q of ['acme', 'borgo srl', 'Castelo', 'north']) {
      const got = await filo.services.search.search(demoActor, q, 20);
      expect(got, q).toEqual(await ormSearch.search(demoActor, q, 20));
    }
    expect((await filo.services.search.search(demoActor, 'acme', 20)).length).toBeGreaterThanOrEqual(4);
    const theirs = await filo.services.search.search(otherActor, 'acme', 20);
    expect(theirs.map((h) => h.id)).toEqual([otherIds[0]]);
  });
});

describe('plans kept on a connection, not made for every call', () => {
  // A workspace of some size (a generic plan's `limit $n` is costed as a tenth of the rows: on a dozen it is cheap),
  // its companies created ten a minute (as an import does: ties) and updated in another order.
  let big: Actor;
  let bigClient: ApiClient;
  beforeAll(async () => {
    bigClient = apiClient(
      filo.baseUrl,
      await signUp(filo, { workspace: 'Plans', name: 'Pat', email: 'pat@plans.test', password: 'a-long-password-1' }),
    );
    big = await actorOf(bigClient);
    await withAdmin(filo.config.databaseUrl!, async (db) => {
      await db.query(
        `insert into companies (id, tenant_id, name, type, status, created_by, created_at, updated_at)
         select gen_random_uuid(), $1, initcap(md5(g::text)), (array['client', 'supplier', 'stakeholder'])[g % 3 + 1],
                (array['active', 'inactive', 'prospect'])[g / 3 % 3 + 1], $2,
                now() - make_interval(mins => g / 10), now() - make_interval(mins => g * 7 % 5000 / 10)
           from generate_series(1, 5000) g`,
        [big.tenantId, big.userId],
      );
      await db.query('analyze companies');
    });
  });

  /** The plan PostgreSQL would run for `sql` on the pool's connection, as EXPLAIN prints it. */
  const planText = async (hot: HotReads, sql: string) =>
    (await hot.pool.query<{ 'QUERY PLAN': string }>(`explain ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');

  it('the company list keeps a generic plan, at its first page (its size in its text) and at a cursor', async () => {
    const hot = new HotReads(appUrl, { max: 1 });
    try {
      const plan = companyPagePlan({ type: 'client', status: 'active' }, { name: 'asc' }, 5, undefined, 'json')!;
      for (let i = 0; i < 8; i++) {
        const page = JSON.parse(await companyPageJson(hot, big, plan)) as { items: { type: string }[] };
        expect(page.items.map((c) => c.type)).toEqual(Array(5).fill('client'));
      }
      const plans = async (name: string) => {
        const { rows } = await hot.pool.query<{ generic_plans: string; custom_plans: string }>(
          'select generic_plans, custom_plans from pg_prepared_statements where name = $1',
          [name],
        );
        return { generic: Number(rows[0]!.generic_plans), custom: Number(rows[0]!.custom_plans) };
      };
      // Five plans for the values (PostgreSQL's rule), then the generic one for every call after them.
      expect(await plans(plan.statement.name)).toEqual({ generic: 3, custom: 5 });
      // The pages after the first: one statement for every cursor, its generic plan kept as well.
      const names: string[] = [];
      let cursor = (JSON.parse(await companyPageJson(hot, big, plan)) as { nextCursor: string }).nextCursor;
      let atCursor: ReturnType<typeof companyPagePlan> = null;
      for (let i = 0; i < 8; i++) {
        // (each a cursor of the page before)
        atCursor = companyPagePlan({ type: 'client', status: 'active' }, { name: 'asc' }, 5, cursor, 'json')!;
        const page = JSON.parse(await companyPageJson(hot, big, atCursor)) as {
          items: { name: string }[];
          nextCursor: string;
        };
        names.push(...page.items.map((c) => c.name));
        cursor = page.nextCursor;
      }
      expect(names).toHaveLength(40);
      expect(new Set(names).size).toBe(40);
      expect(names).toEqual([...names].sort());
      expect(await plans(atCursor!.statement.name)).toEqual({ generic: 3, custom: 5 });
      // Why it is kept whatever the data: a plan made for a cursor's values costs what the generic plan costs, since
      // the values are read by the statement, not estimated (with them as bare parameters a cursor near the list's
      // start looked cheaper than the generic plan, and on a large workspace every page was planned anew).
      await hot.pool.query('set plan_cache_mode = force_custom_plan');
      const costs: number[] = [];
      for (const at of ['0', '8', 'F']) {
        const cursor = cursorOf([at, randomUUID()]);
        const p = companyPagePlan({ type: 'client', status: 'active' }, { name: 'asc' }, 5, cursor, 'json')!;
        const literals = [big.tenantId, ...p.values].map((v) => `'${String(v)}'`).join(', ');
        const { rows } = await hot.pool.query<{ 'QUERY PLAN': [{ Plan: { 'Total Cost': number } }] }>(
          `explain (format json) execute ${p.statement.name}(${literals})`,
        );
        costs.push(rows[0]!['QUERY PLAN'][0].Plan['Total Cost']);
      }
      await hot.pool.query('reset plan_cache_mode');
      expect(new Set(costs).size, costs.join(' ')).toBe(1);
      // That plan reads the list's own index: type and status are index conditions, the order is the index's.
      const text = await planText(hot, `execute ${plan.statement.name}('${big.tenantId}', 'client', 'active')`);
      expect(text).toMatch(/Index Scan using companies_list_type_status_index/);
      expect(text).toMatch(/Index Cond: .*type = \$2.*status = \$3/);
      expect(text).not.toMatch(/Filter: .*type|Sort Key/);
    } finally {
      await hot.close();
    }
  });

  it('a list sorted by creation or update reads an index in its order, not the whole workspace', async () => {
    const hot = new HotReads(appUrl, { max: 1 });
    try {
      for (const [sort, column] of [
        ['createdAt', 'created_at'],
        ['updatedAt', 'updated_at'],
      ] as const) {
        for (const direction of ['asc', 'desc'] as const) {
          const plan = companyPagePlan({}, { [sort]: direction }, 5, undefined, 'json')!;
          const page = JSON.parse(await companyPageJson(hot, big, plan)) as { items: { id: string }[] };
          const expected = await withAdmin(filo.config.databaseUrl!, (db) =>
            db.query<{ id: string }>(
              `select id from companies where tenant_id = $1 order by ${column} ${direction}, id asc limit 5`,
              [big.tenantId],
            ),
          );
          expect(page.items.map((c) => c.id)).toEqual(expected.rows.map((r) => r.id));
          const text = await planText(hot, `execute ${plan.statement.name}('${big.tenantId}')`);
          expect(text, `${sort} ${direction}`).toMatch(
            new RegExp(`Index Scan.* using companies_tenant_${column}_index`),
          );
          expect(text, `${sort} ${direction}`).not.toMatch(/Seq Scan/);
          // Newest first is the index's own order, ties included; oldest first sorts only the rows of a tie.
          if (direction === 'desc') expect(text, `${sort} ${direction}`).not.toMatch(/Sort/);
        }
      }
    } finally {
      await hot.close();
    }
  });

  it('the contact and deal lists read an index in each of their sorts, not the whole workspace', async () => {
    await withAdmin(filo.config.databaseUrl!, async (db) => {
      // Namesakes (a last name shared by many, a full name by a few) and contacts created ten a minute.
      await db.query(
        `insert into contacts (id, tenant_id, first_name, last_name, created_by, created_at, updated_at)
         select gen_random_uuid(), $1, (array['Anna', 'Marco', 'Sara', 'John'])[g % 4 + 1] || (g / 400)::text,
                (array['Rossi', 'Bianchi', 'Smith', 'Ferrari', 'Jones'])[g % 5 + 1], $2,
                date_trunc('second', now()) - make_interval(mins => g / 10), now()
           from generate_series(1, 4000) g`,
        [big.tenantId, big.userId],
      );
      await db.query(
        `insert into deals (id, tenant_id, title, created_by, created_at, updated_at)
         select gen_random_uuid(), $1, 'Deal ' || md5(g::text), $2, date_trunc('second', now()) - make_interval(mins => g / 10), now()
           from generate_series(1, 4000) g`,
        [big.tenantId, big.userId],
      );
      await db.query('analyze contacts; analyze deals');
    });
    const scans = (index: string) =>
      withAdmin(filo.config.databaseUrl!, async (db) => {
        const { rows } = await db.query<{ n: string }>(
          'select idx_scan as n from pg_stat_user_indexes where indexrelname = $1',
          [index],
        );
        expect(rows, `the index ${index}`).toHaveLength(1);
        return Number(rows[0]!.n);
      });
    const cases = [
      ['contacts', 'name', 'contacts_tenant_name_index', 'last_name asc, first_name asc, id asc'],
      ['contacts', '-name', 'contacts_tenant_name_index', 'last_name desc, first_name desc, id asc'],
      ['contacts', '-createdAt', 'contacts_tenant_created_at_index', 'created_at desc, id asc'],
      ['contacts', 'createdAt', 'contacts_tenant_created_at_index', 'created_at asc, id asc'],
      ['deals', 'title', 'deals_tenant_title_index', 'title asc, id asc'],
      ['deals', '-title', 'deals_tenant_title_index', 'title desc, id asc'],
      ['deals', '-createdAt', 'deals_tenant_created_at_index', 'created_at desc, id asc'],
    ] as const;
    const before = new Map<string, number>();
    for (const [, , index] of cases) before.set(index, await scans(index));
    for (const [path, sort, , order] of cases) {
      // Two pages: the first, and one at its cursor.
      const first = await bigClient.json<{ items: { id: string }[]; nextCursor: string }>(
        'GET',
        `/api/crm/${path}?sort=${sort}&limit=5`,
      );
      const second = await bigClient.json<{ items: { id: string }[] }>(
        'GET',
        `/api/crm/${path}?sort=${sort}&limit=5&cursor=${encodeURIComponent(first.nextCursor)}`,
      );
      const expected = await withAdmin(filo.config.databaseUrl!, (db) =>
        db.query<{ id: string }>(`select id from ${path} where tenant_id = $1 order by ${order} limit 10`, [
          big.tenantId,
        ]),
      );
      expect(
        [...first.items, ...second.items].map((r) => r.id),
        `${path} ${sort}`,
      ).toEqual(expected.rows.map((r) => r.id));
    }
    // Each page scanned its sort's index (PostgreSQL counts scans once its statistics are flushed, within a second).
    for (const [index, n] of before) {
      const pages = 2 * cases.filter((c) => c[2] === index).length;
      await expect.poll(() => scans(index), { timeout: 5_000 }).toBeGreaterThanOrEqual(n + pages);
    }
  });

  it("the timeline's record check runs on a kept plan after its first calls, for each record type", async () => {
    await demo.json('POST', '/api/crm/contacts', { firstName: 'Pia', lastName: 'Plan', companyId: demoIds[0] });
    await demo.json('POST', '/api/crm/deals', { title: 'Plan deal', companyId: demoIds[0] });
    await withAdmin(filo.config.databaseUrl!, async (db) => {
      const records = await db.query<{ type: string; id: string }>(
        `(select 'company' as type, id from companies where tenant_id = $1 limit 1)
         union all (select 'contact', id from contacts where tenant_id = $1 limit 1)
         union all (select 'deal', id from deals where tenant_id = $1 limit 1)`,
        [demoActor.tenantId],
      );
      expect(records.rows.map((r) => r.type)).toEqual(['company', 'contact', 'deal']);
      // auto_explain prints the plan of each statement the function runs, as a notice: a plan made for the values
      // shows the record's id as a constant, the kept (generic) plan shows a parameter.
      const notices: string[] = [];
      db.on('notice', (n) => notices.push(n.message ?? ''));
      await db.query(`load 'auto_explain'`);
      await db.query(`set auto_explain.log_min_duration = 0`);
      await db.query(`set auto_explain.log_nested_statements = on`);
      await db.query(`set auto_explain.log_level = notice`);
      for (const { type, id } of records.rows) {
        const table = { company: 'companies', contact: 'contacts', deal: 'deals' }[type]!;
        const checks: string[] = [];
        for (let i = 0; i < 8; i++) {
          notices.length = 0;
          await db.query('select count(*) from filo_timeline($1, $2, $3, $4, null, null, 50, false)', [
            demoActor.tenantId,
            demoActor.userId,
            type,
            id,
          ]);
          checks.push(notices.find((n) => n.includes(`from ${table} `) && n.includes('Query Text')) ?? '(no plan)');
        }
        expect(checks[0], type).toContain(id);
        expect(checks.at(-1), type).not.toContain(id);
        expect(checks.at(-1), type).toMatch(/Index Cond: \(\w*\.?id = \$\d+\)/);
      }
    });
  });
});

describe('shutdown', () => {
  it('closes the hot pool with Filo', async () => {
    const database = new URL(appUrl).pathname.slice(1);
    const hotBackends = () =>
      withAdmin(filo.config.databaseUrl!, async (db) => {
        const { rows } = await db.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity where datname = $1 and application_name = 'filo-hot'`,
          [database],
        );
        return Number(rows[0]!.n);
      });
    await demo.json('GET', '/api/crm/companies?limit=1'); // a hot read: the pool holds a connection
    expect(await hotBackends()).toBeGreaterThan(0);
    await filo.stop();
    await expect.poll(hotBackends).toBe(0);
  });
});
