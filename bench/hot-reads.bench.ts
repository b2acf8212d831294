/**
 * The hot-read data layer against the ORM path it replaced, in one process on one database: the company timeline
 * page, the filtered company list page and search, called through the services (no HTTP, no session), in
 * alternating blocks. Reports per call the latency and the CPU spent in Node and in PostgreSQL (the postmaster and
 * its backends, from /proc): CPU per call moves far less than latency when other work shares the machine.
 * Then search's SQL alone: the previous `filo_search()` (every match ranked) beside the current one, same pool.
 *   node bench/hot-reads.bench.ts [companies=20000] [calls=300] [rounds=3]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import pg from 'pg';
import { loadConfig } from '../server/config.ts';
import { startFilo } from '../server/filo.ts';
import { RecordsService } from '../server/crm/records.service.ts';
import { SearchService } from '../server/crm/search.service.ts';
import { ActivitiesService } from '../server/timeline/activities.service.ts';
import { searchLinked } from '../server/linked-records/linked-records.queries.ts';
import { cpuBetween, cpuSnapshot, withChildren } from './smtp/cpu.ts';
import { demoOwner } from './lib/demo-owner.ts';
import { HotReads, tenantStatement } from '../server/db-hot/hot-reads.ts';
import { prefixQuery } from '../server/crm/search.service.ts';
import { Migration20261207080000_search_typos } from '../db/migrations/Migration20261207080000_search_typos.ts';

const COMPANIES = Number(process.argv[2] ?? 20_000);
const CALLS = Number(process.argv[3] ?? 300);
const ROUNDS = Number(process.argv[4] ?? 3);
const dataDir = mkdtempSync(path.join(tmpdir(), 'filo-bench-hot-'));

const filo = await startFilo(
  loadConfig({ DATA_DIR: dataDir, PORT: '0', SMTP_PORT: '0', HOST: '127.0.0.1', ROLES: 'web', LOG_LEVEL: 'silent' }),
  pino({ level: 'silent' }),
);
const postmaster = Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
const owner = new pg.Client({ connectionString: filo.databaseUrl });
await owner.connect();
const { tenantId, userId } = await demoOwner(owner);

// ---- data: names from word lists (search finds them by prefix), three contacts and ten activities per company ----
const t0 = performance.now();
const WORDS = `'{Acme,Borgo,Castello,Duomo,Etna,Faro,Gru,Isola,Lago,Monte,Nord,Orto,Ponte,Quercia,Riva,Sole,Torre,Valle}'`;
await owner.query(
  `insert into companies (id, tenant_id, name, type, status, created_by)
   select gen_random_uuid(), $1, (${WORDS}::text[])[1 + g % 18] || ' ' || left(md5(g::text), 6) || ' S.r.l.',
          (array['client','supplier','stakeholder'])[1 + g % 3], (array['active','inactive','prospect'])[1 + (g / 4) % 3], $2
     from generate_series(1, $3::int) g`,
  [tenantId, userId, COMPANIES],
);
await owner.query(
  `insert into contacts (id, tenant_id, company_id, first_name, last_name, created_by)
   select gen_random_uuid(), c.tenant_id, c.id, (array['Anna','Marco','Sara','Luca','Giulia','Paolo'])[1 + k],
          (array['Rossi','Bianchi','Ferrari','Esposito','Romano','Colombo','Ricci'])[1 + (k * 7 + length(c.name)) % 7], $2
     from companies c cross join generate_series(0, 2) k where c.tenant_id = $1`,
  [tenantId, userId],
);
const [{ activity_seq: seq0 }] = (await owner.query(`select activity_seq from tenants where id = $1`, [tenantId])).rows;
await owner.query(
  `insert into activities (id, tenant_id, seq, entity_type, entity_id, company_id, activity_type, title, metadata, created_by)
   select gen_random_uuid(), $1, $3::bigint + row_number() over (), 'company', c.id, c.id, 'company.updated',
          'Activity ' || k, '{}'::jsonb, $2
     from companies c cross join generate_series(1, 10) k where c.tenant_id = $1`,
  [tenantId, userId, seq0],
);
await owner.query(
  `update tenants set activity_seq = (select max(seq) from activities where tenant_id = $1) where id = $1`,
  [tenantId],
);
await owner.query('vacuum analyze');
const companyIds = (await owner.query(`select id from companies where tenant_id = $1`, [tenantId])).rows.map(
  (r: { id: string }) => r.id,
);
console.log(
  `loaded ${COMPANIES.toLocaleString('en')} companies, 3 contacts and 10 activities each, in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
);

// ---- the two paths: the services as Filo wires them (hot pool), and the same services without it (the ORM) -----
const s = filo.services;
const actor = (await s.team.actorFor(tenantId, userId))!;
const orm = {
  activities: new ActivitiesService(filo.orm, s.publisher),
  records: new RecordsService(filo.orm, s.activities, s.customFields, s.publisher),
  search: new SearchService(filo.orm),
};
orm.search.linked = searchLinked;
const words = ['acm', 'borgo', 'castel', 'duomo', 'sara rossi', 'marco bianchi', 'luca', 'torre'];
const reads = {
  'timeline page (50)': (p: typeof orm, i: number) =>
    p.activities.timeline(actor, {
      entityType: 'company',
      entityId: companyIds[(i * 7919) % companyIds.length],
      limit: 50,
    }),
  'company list (type+status, 50)': (p: typeof orm) =>
    p.records.list(actor, 'company', { type: 'client', status: 'active' }, { name: 'asc' }, 50, undefined),
  'search (prefix / full name)': (p: typeof orm, i: number) => p.search.search(actor, words[i % words.length]!, 20),
};
const hot = { activities: s.activities, records: s.records, search: s.search } as unknown as typeof orm;

interface Block {
  times: number[];
  nodeMs: number;
  pgMs: number;
}
async function block(fn: (i: number) => Promise<unknown>, n: number, into: Block): Promise<void> {
  const pg0 = cpuSnapshot(withChildren(postmaster));
  const node0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    into.times.push(performance.now() - t);
  }
  const node = process.cpuUsage(node0);
  into.nodeMs += (node.user + node.system) / 1000;
  into.pgMs += cpuBetween(pg0, cpuSnapshot(withChildren(postmaster))) * 1000;
}
/** Two ways to the same answer, in alternating blocks, after warming both (connections, prepared statements, plans). */
const run = async (label: string, pair: [string, (i: number) => Promise<unknown>][]) => {
  for (let i = 0; i < 20; i++) await Promise.all(pair.map(([, fn]) => fn(i)));
  const blocks = pair.map((): Block => ({ times: [], nodeMs: 0, pgMs: 0 }));
  for (let round = 0; round < ROUNDS; round++)
    for (const [k, [, fn]] of pair.entries()) await block(fn, CALLS, blocks[k]!);
  const n = CALLS * ROUNDS;
  const cpu = (x: Block) => x.nodeMs + x.pgMs;
  console.log(`${label}, ${n} calls each, ${ROUNDS} alternating rounds`);
  for (const [k, [name]] of pair.entries()) console.log(line(name, blocks[k]!, n));
  const [a, b] = blocks as [Block, Block];
  console.log(
    `  ${pair[1]![0]} / ${pair[0]![0]}: p50 ${(q(b.times, 0.5) / q(a.times, 0.5)).toFixed(2)}x, CPU per call ${(cpu(b) / cpu(a)).toFixed(2)}x\n`,
  );
};
const q = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const line = (label: string, b: Block, n: number) =>
  `  ${label.padEnd(4)} p50 ${q(b.times, 0.5).toFixed(2)} ms  p95 ${q(b.times, 0.95).toFixed(2)} ms  CPU per call: Node ${(b.nodeMs / n).toFixed(2)} ms, PostgreSQL ${(b.pgMs / n).toFixed(2)} ms`;

for (const [name, read] of Object.entries(reads))
  await run(name, [
    ['ORM', (i) => read(orm, i)],
    ['hot', (i) => read(hot, i)],
  ]);

// ---- search's SQL: the previous filo_search (ranked every match, then filled with trigram look-alikes) ---------
const previous = new Migration20261207080000_search_typos(filo.orm.em.getDriver(), filo.orm.config);
void previous.up();
const previousSql = (previous.getQueries() as string[]).find((sql) => sql.startsWith('create function filo_search('))!;
await owner.query(previousSql.replace('create function filo_search(', 'create function filo_search_previous('));
const reader = new HotReads(filo.orm.config.get('clientUrl') as string, { max: 1 });
const sqlOf = (fn: string) =>
  tenantStatement(
    `select * from ${fn}($2::text, $3::text, $4::int, null) where filo_tenant.id is not null limit $4::int`,
  );
const searchSql = (statement: ReturnType<typeof sqlOf>) => (i: number) =>
  reader.read(tenantId, statement, [prefixQuery(words[i % words.length]!), words[i % words.length], 20]);
await run('filo_search SQL (prefix / full name)', [
  ['prev', searchSql(sqlOf('filo_search_previous'))],
  ['now', searchSql(sqlOf('filo_search'))],
]);
await reader.close();

await owner.end();
await filo.stop();
rmSync(dataDir, { recursive: true, force: true });
