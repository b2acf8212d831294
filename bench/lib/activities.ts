/**
 * Bulk load of a workspace's activities for bench/api.bench.ts, fast enough for 10M rows on a small machine:
 * generate_series in SQL (no row travels from Node), the indexes and unique constraints dropped during the load
 * and built afterwards with a sort (a random-uuid primary key maintained row by row was most of the time), and
 * the foreign-key triggers off for the loading session (every id comes from the rows just inserted). The
 * indexes and constraints are rebuilt from their own definitions in the catalogue, so the table ends exactly
 * as the migrations left it.
 */
import type pg from 'pg';

export interface LoadedActivities {
  /** The company holding 1 % of the activities: its timeline is deep enough for a cursor far back. */
  longCompanyId: string;
  /** Seqs of that company's activities, oldest first. */
  longSeqs: number[];
  seconds: { rows: number; indexes: number };
}

const CHUNK = 1_000_000;

/**
 * `total` activities in seq order after the tenant's current seq, as the service would have written them:
 * activity g goes to company g % companies, except every 100th, which goes to the first company.
 */
export async function loadActivities(
  owner: pg.Client,
  opts: { tenantId: string; userId: string; companyIds: string[]; total: number; progress?: (line: string) => void },
): Promise<LoadedActivities> {
  const { tenantId, userId, companyIds, total } = opts;
  const [{ activity_seq: seq0 }] = (
    await owner.query<{ activity_seq: string }>(`select activity_seq from tenants where id = $1`, [tenantId])
  ).rows as [{ activity_seq: string }];
  const constraints = (
    await owner.query<{ name: string; def: string }>(
      `select conname as name, pg_get_constraintdef(oid) as def from pg_constraint
        where conrelid = 'activities'::regclass and contype in ('p', 'u')`,
    )
  ).rows;
  const indexes = (
    await owner.query<{ name: string; def: string }>(
      `select i.relname as name, pg_get_indexdef(i.oid) as def from pg_index x join pg_class i on i.oid = x.indexrelid
        where x.indrelid = 'activities'::regclass
          and not exists (select 1 from pg_constraint c where c.conindid = i.oid)`,
    )
  ).rows;
  await owner.query(`create temp table bench_companies (n int primary key, id uuid not null)`);
  await owner.query(
    `insert into bench_companies select g - 1, ($1::uuid[])[g] from generate_subscripts($1::uuid[], 1) g`,
    [companyIds],
  );
  const t0 = performance.now();
  await owner.query(`set session_replication_role = replica`);
  for (const c of constraints) await owner.query(`alter table activities drop constraint "${c.name}"`);
  for (const i of indexes) await owner.query(`drop index "${i.name}"`);
  for (let from = 1; from <= total; from += CHUNK) {
    const to = Math.min(total, from + CHUNK - 1);
    await owner.query(
      `insert into activities (id, tenant_id, seq, entity_type, entity_id, company_id, activity_type, title, metadata, created_by)
       select gen_random_uuid(), $1, $3::bigint + g, 'company', c.id, c.id,
              (array['note.added','company.updated','deal.stage_changed','email.sent'])[1 + g % 4],
              'Activity ' || g, '{}'::jsonb, $2
         from generate_series($4::int, $5::int) g
         join bench_companies c on c.n = case when g % 100 = 0 then 0 else g % $6::int end`,
      [tenantId, userId, seq0, from, to, companyIds.length],
    );
    if (total > CHUNK) opts.progress?.(`  ${to.toLocaleString('en')} activities written`);
  }
  await owner.query(`set session_replication_role = origin`);
  const t1 = performance.now();
  await owner.query(`set maintenance_work_mem = '1GB'`);
  for (const c of constraints) await owner.query(`alter table activities add constraint "${c.name}" ${c.def}`);
  for (const i of indexes) await owner.query(i.def);
  await owner.query(`update tenants set activity_seq = $2 where id = $1`, [tenantId, Number(seq0) + total]);
  const t2 = performance.now();
  const longSeqs = (
    await owner.query<{ seq: string }>(
      `select seq from activities where tenant_id = $1 and company_id = $2 and seq > $3 order by seq`,
      [tenantId, companyIds[0], seq0],
    )
  ).rows.map((r) => Number(r.seq));
  await owner.query(`drop table bench_companies`);
  return {
    longCompanyId: companyIds[0]!,
    longSeqs,
    seconds: { rows: (t1 - t0) / 1000, indexes: (t2 - t1) / 1000 },
  };
}
