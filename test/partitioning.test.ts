import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from './support/harness.ts';
import { withAdmin } from './support/postgres.ts';

/**
 * The partitioning plan of docs/scaling.md, tried on a copy: `activities` hash-partitioned by tenant, built from
 * the real table's own columns, indexes and policies (the real schema is not changed). A tenant's rows live in
 * one partition, so the per-tenant seq's unique constraint holds per partition, the seq counter stays the tenant
 * row's, and a timeline page reads one partition.
 */
const PARTITIONS = 8;
const ROLE = `filo_part_${randomUUID().slice(0, 8)}`;

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let owner: pg.Client;
let app: pg.Pool;

/** The partition a tenant's rows go to, as PostgreSQL computes it. */
async function partitionOf(tenantId: string): Promise<string> {
  for (let r = 0; r < PARTITIONS; r++) {
    const { rows } = await owner.query<{ ok: boolean }>(
      `select satisfies_hash_partition('activities_p'::regclass, $1, $2, $3::uuid) as ok`,
      [PARTITIONS, r, tenantId],
    );
    if (rows[0]!.ok) return `activities_p${r}`;
  }
  throw new Error('no partition');
}

/** Runs `fn` as the application role (RLS applies) with the tenant set for one transaction. */
async function asTenant<T>(tenantId: string | null, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await app.connect();
  try {
    await c.query('begin');
    if (tenantId) await c.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
    const out = await fn(c);
    await c.query('commit');
    return out;
  } catch (err) {
    await c.query('rollback');
    throw err;
  } finally {
    c.release();
  }
}

/** What the service does (activities.service.ts record()): the tenant row's counter under its lock, then the row. */
async function record(c: pg.PoolClient, tenantId: string, companyId: string, title: string): Promise<number> {
  const { rows } = await c.query<{ activity_seq: string }>(
    `update tenants set activity_seq = activity_seq + 1 where id = $1 returning activity_seq`,
    [tenantId],
  );
  const seq = Number(rows[0]!.activity_seq);
  await c.query(
    `insert into activities_p (id, tenant_id, seq, entity_type, entity_id, company_id, activity_type, title)
     values (gen_random_uuid(), $1, $2, 'company', $3, $3, 'note.added', $4)`,
    [tenantId, seq, companyId, title],
  );
  return seq;
}

/** Tenants with their companies: two sharing a partition, one in another partition. */
const tenants: { id: string; companies: string[]; partition: string }[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new pg.Client({ connectionString: db.url });
  await owner.connect();

  // The copy: the real table's columns, defaults and checks; every unique key led by tenant_id (a unique key of a
  // partitioned table must contain the partition key: the primary key becomes (tenant_id, id), the per-tenant seq's
  // (tenant_id, seq) stays as it is); the same indexes and foreign keys; the same policies on the parent and on each
  // partition (a partition read directly is checked against its own policies, not its parent's).
  await owner.query(
    `create table activities_p (like activities including defaults including constraints) partition by hash (tenant_id)`,
  );
  for (let r = 0; r < PARTITIONS; r++)
    await owner.query(
      `create table activities_p${r} partition of activities_p for values with (modulus ${PARTITIONS}, remainder ${r})`,
    );
  const keys = await owner.query<{ conname: string; contype: string; def: string }>(
    `select conname, contype, pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = 'activities'::regclass and contype in ('p', 'u', 'f') order by contype desc`,
  );
  for (const k of keys.rows) {
    const def = k.contype !== 'f' && !/\btenant_id\b/.test(k.def) ? k.def.replace(/KEY \(/, 'KEY (tenant_id, ') : k.def;
    await owner.query(
      `alter table activities_p add constraint ${k.conname.replace(/^activities/, 'activities_p')} ${def}`,
    );
  }
  const indexes = await owner.query<{ def: string }>(
    `select pg_get_indexdef(x.indexrelid) as def from pg_index x
      where x.indrelid = 'activities'::regclass and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)`,
  );
  for (const { def } of indexes.rows)
    await owner.query(def.replace(/INDEX (\S+) ON public\.activities /, 'INDEX $1_p ON public.activities_p '));
  const policies = await owner.query<{ policyname: string; roles: string; qual: string; with_check: string }>(
    `select policyname, array_to_string(roles, ', ') as roles, qual, with_check from pg_policies where tablename = 'activities'`,
  );
  expect(policies.rows.map((p) => p.policyname).sort()).toEqual(['owner_access', 'tenant_isolation']);
  for (const table of ['activities_p', ...Array.from({ length: PARTITIONS }, (_, r) => `activities_p${r}`)]) {
    await owner.query(`alter table ${table} enable row level security`);
    await owner.query(`alter table ${table} force row level security`);
    for (const p of policies.rows)
      await owner.query(
        `create policy ${p.policyname} on ${table} to ${p.roles} using (${p.qual}) with check (${p.with_check})`,
      );
  }

  // The application role: like the real one, no superuser, no BYPASSRLS, not the owner.
  await owner.query(`create role ${ROLE} login password 'part' nosuperuser nobypassrls`);
  await owner.query(`grant select, insert, update, delete on all tables in schema public to ${ROLE}`);
  await owner.query(`grant execute on all functions in schema public to ${ROLE}`);
  const url = new URL(db.url);
  url.username = ROLE;
  url.password = 'part';
  app = new pg.Pool({ connectionString: url.toString(), max: 8 });

  // Tenants: the first two in one partition, the third in another (drawn until it is so).
  const user = randomUUID();
  await owner.query(`insert into users (id, email, name, password_hash) values ($1, $2, 'Part', 'x')`, [
    user,
    `${user}@part.test`,
  ]);
  const seen = new Map<string, string>();
  while (tenants.length < 2) {
    const id = randomUUID();
    const partition = await partitionOf(id);
    const first = seen.get(partition);
    if (first) tenants.push({ id: first, companies: [], partition }, { id, companies: [], partition });
    else seen.set(partition, id);
  }
  while (tenants.length < 3) {
    const id = randomUUID();
    const partition = await partitionOf(id);
    if (partition !== tenants[0]!.partition) tenants.push({ id, companies: [], partition });
  }
  for (const t of tenants) {
    await owner.query(`insert into tenants (id, name, slug) values ($1, $2, $2)`, [t.id, `t-${t.id}`]);
    for (let i = 0; i < 3; i++) {
      const company = randomUUID();
      await owner.query(
        `insert into companies (id, tenant_id, name, type, created_by) values ($1, $2, $3, 'client', $4)`,
        [company, t.id, `Company ${i}`, user],
      );
      t.companies.push(company);
    }
    // Existing rows, written to the real table as the service would, then moved into the partitioned copy.
    await owner.query(
      `insert into activities (id, tenant_id, seq, entity_type, entity_id, company_id, activity_type, title)
       select gen_random_uuid(), $1, g, 'company', ($2::uuid[])[1 + g % 3], ($2::uuid[])[1 + g % 3], 'note.added', 'Old ' || g
         from generate_series(1, 300) g`,
      [t.id, t.companies],
    );
    await owner.query(`update tenants set activity_seq = 300 where id = $1`, [t.id]);
  }
  await owner.query(`insert into activities_p select * from activities`);
  await owner.query(`analyze activities_p`);
}, 60_000);

afterAll(async () => {
  await app?.end();
  await owner?.end();
  await db?.drop();
  // A role outlives the database it was granted on: remove this file's own.
  await withAdmin(inject('pgAdminUrl'), (c) => c.query(`drop role if exists ${ROLE}`));
});

describe('activities partitioned by tenant hash', () => {
  it('moves every row into its tenant partition, none anywhere else', async () => {
    const { rows } = await owner.query<{ tenant_id: string; part: string; n: string }>(
      `select tenant_id, tableoid::regclass::text as part, count(*) as n from activities_p group by 1, 2`,
    );
    expect(rows).toHaveLength(3);
    for (const t of tenants)
      expect(rows.find((r) => r.tenant_id === t.id)).toMatchObject({ part: t.partition, n: '300' });
    expect(tenants[0]!.partition).toBe(tenants[1]!.partition);
    expect(tenants[2]!.partition).not.toBe(tenants[0]!.partition);
  });

  it('isolates tenants through the parent and through a partition read directly', async () => {
    const [a, b, c] = tenants as [(typeof tenants)[0], (typeof tenants)[0], (typeof tenants)[0]];
    await asTenant(a.id, async (q) => {
      const all = await q.query(`select distinct tenant_id from activities_p`);
      expect(all.rows).toEqual([{ tenant_id: a.id }]);
      // B shares A's partition: reading it directly still shows only A's rows.
      const shared = await q.query(`select tenant_id, count(*)::int as n from ${a.partition} group by 1`);
      expect(shared.rows).toEqual([{ tenant_id: a.id, n: 300 }]);
      const other = await q.query(`select count(*)::int as n from ${c.partition}`);
      expect(other.rows).toEqual([{ n: 0 }]);
      // Writing another tenant's row is refused by the policy's check, through the parent and the partition.
      await q.query('savepoint s');
      await expect(
        q.query(
          `insert into activities_p (id, tenant_id, seq, entity_type, entity_id, activity_type, title)
           values (gen_random_uuid(), $1, 999, 'company', $2, 'note.added', 'x')`,
          [b.id, b.companies[0]],
        ),
      ).rejects.toMatchObject({ code: '42501' });
      await q.query('rollback to savepoint s');
      await expect(
        q.query(
          `insert into ${a.partition} (id, tenant_id, seq, entity_type, entity_id, activity_type, title)
           values (gen_random_uuid(), $1, 999, 'company', $2, 'note.added', 'x')`,
          [b.id, b.companies[0]],
        ),
      ).rejects.toMatchObject({ code: '42501' });
      await q.query('rollback to savepoint s');
      // Another tenant's rows cannot be changed either: the update matches none.
      const upd = await q.query(`update activities_p set title = 'stolen' where tenant_id = $1`, [b.id]);
      expect(upd.rowCount).toBe(0);
    });
    // No tenant set: nothing at all.
    const none = await asTenant(null, (q) => q.query(`select count(*)::int as n from activities_p`));
    expect(none.rows).toEqual([{ n: 0 }]);
  });

  it('keeps each tenant seq unique and gap-free under concurrent writers, rolled-back ones included', async () => {
    const writers = 8;
    const perWriter = 25;
    let rolledBack = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) {
          const t = tenants[(w + i) % tenants.length]!;
          const abort = i % 7 === 3;
          await asTenant(t.id, async (q) => {
            await record(q, t.id, t.companies[i % 3]!, `w${w} i${i}`);
            if (abort) throw new Error('rolled back on purpose');
          }).catch((err: Error) => {
            if (!abort) throw err;
            rolledBack++;
          });
        }
      }),
    );
    expect(rolledBack).toBeGreaterThan(0);
    const written = writers * perWriter - rolledBack;
    const { rows } = await owner.query<{ tenant_id: string; n: string; distinct_seqs: string; lo: string; hi: string }>(
      `select tenant_id, count(*) as n, count(distinct seq) as distinct_seqs, min(seq) as lo, max(seq) as hi
         from activities_p group by 1`,
    );
    let total = 0;
    for (const t of tenants) {
      const r = rows.find((x) => x.tenant_id === t.id)!;
      const [{ activity_seq }] = (await owner.query(`select activity_seq from tenants where id = $1`, [t.id])).rows;
      // 1..max, each once: no duplicate, no gap, and the counter is the last one handed out.
      expect(r.n).toBe(r.distinct_seqs);
      expect(r.lo).toBe('1');
      expect(r.hi).toBe(r.n);
      expect(activity_seq).toBe(r.hi);
      total += Number(r.n) - 300;
    }
    expect(total).toBe(written);
    // The unique key is enforced across the partitioned table: a duplicate seq is refused.
    const t = tenants[0]!;
    await expect(
      asTenant(t.id, (q) =>
        q.query(
          `insert into activities_p (id, tenant_id, seq, entity_type, entity_id, activity_type, title)
           values (gen_random_uuid(), $1, 1, 'company', $2, 'note.added', 'dup')`,
          [t.id, t.companies[0]],
        ),
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('reads a timeline page from one partition, the same page as the unpartitioned table', async () => {
    const t = tenants[2]!;
    const company = t.companies[1]!;
    const page = `select a.id, a.seq from %T a where a.tenant_id = $1 and a.company_id = $2 and a.seq < $3
                   order by a.seq desc limit 50`;
    await asTenant(t.id, async (q) => {
      // Literal parameters: pruned while planning, one partition in the plan.
      const custom = await q.query(
        `explain (format json) ${page.replace('%T', 'activities_p').replace('$1', `'${t.id}'`).replace('$2', `'${company}'`).replace('$3', '200')}`,
      );
      const scanned = JSON.stringify(custom.rows[0]['QUERY PLAN']).match(/"Relation Name":"activities_p\d+"/g);
      expect(scanned).toEqual([`"Relation Name":"${t.partition}"`]);
      // Keyset on the index: read backward from the cursor, the three conditions in the index's own.
      expect(JSON.stringify(custom.rows[0]['QUERY PLAN'])).toMatch(
        /"Node Type":"Index (Only )?Scan","Parent Relationship":"Outer",[^}]*"Scan Direction":"Backward","Index Name":"activities_p\d+_tenant_id_company_id_seq_idx"[^}]*"Index Cond":"\(\(tenant_id = [^)]+\) AND \(company_id = [^)]+\) AND \(seq < 200\)\)"/,
      );
      // A generic plan (a prepared statement's, a PL/pgSQL function's): pruned when the executor starts.
      await q.query(`set local plan_cache_mode = force_generic_plan`);
      await q.query(`prepare timeline_page(uuid, uuid, bigint) as ${page.replace('%T', 'activities_p')}`);
      // (EXPLAIN takes no bind parameters: the values go in as EXECUTE's arguments, still parameters of the plan.)
      const generic = await q.query(
        `explain (analyze, format json) execute timeline_page('${t.id}', '${company}', 200)`,
      );
      const plan = JSON.stringify(generic.rows[0]['QUERY PLAN']);
      expect(plan).toMatch(new RegExp(`"Subplans Removed":${PARTITIONS - 1}\\b`));
      expect(plan.match(/"Relation Name":"activities_p\d+"/g)).toEqual([`"Relation Name":"${t.partition}"`]);
      // The policy's own condition alone (no tenant in the query) prunes too, when the executor starts.
      const policyOnly = await q.query(`explain (analyze, format json) select count(*) from activities_p`);
      expect(JSON.stringify(policyOnly.rows[0]['QUERY PLAN'])).toMatch(
        new RegExp(`"Subplans Removed":${PARTITIONS - 1}\\b`),
      );
      // So does an update by id alone, as the ORM writes one (the row's tenant comes from the policy).
      const { rows: one } = await q.query<{ id: string }>(`select id from activities_p limit 1`);
      const byId = await q.query(
        `explain (analyze, format json) update activities_p set title = title where id = '${one[0]!.id}'`,
      );
      const updatePlan = JSON.stringify(byId.rows[0]['QUERY PLAN']);
      expect(updatePlan).toMatch(new RegExp(`"Subplans Removed":${PARTITIONS - 1}\\b`));
      expect(updatePlan).toMatch(/"Actual Rows":1\b/);
      await q.query(`deallocate timeline_page`);
      // Same rows as the real table's page (the rows moved in and the ones written since).
      const p = await q.query(page.replace('%T', 'activities_p'), [t.id, company, 200]);
      const real = await q.query(page.replace('%T', 'activities'), [t.id, company, 200]);
      expect(p.rows.length).toBe(50);
      expect(p.rows.map((r) => r.seq)).toEqual(real.rows.map((r) => r.seq));
    });
  });
});
