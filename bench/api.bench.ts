/**
 * The CRM API at size: 100k companies, 300k contacts (realistic Italian and English names) and 1M activities
 * in one workspace. Reports p50/p95 and req/s with 10 clients for a company timeline page, a filtered company
 * list page and a search, beside the raw SQL time of the same queries and a bare Express baseline, same run.
 * A company page is also read at a deep cursor (90 % back in a company holding 1 % of the activities) beside
 * the same depth by OFFSET, with the buffers each touches: at 10M activities the keyset page must cost what it
 * costs at 1M.
 *   node bench/api.bench.ts [seconds=5] [companies=100000] [activities=companies x 10]
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { pino } from 'pino';
import pg from 'pg';
import { fakerIT, fakerEN } from '@faker-js/faker';
import { loadConfig } from '../server/config.ts';
import { startFilo } from '../server/filo.ts';
import { load, report, timeEach } from './lib/load.ts';
import { loadActivities } from './lib/activities.ts';
import { demoOwner } from './lib/demo-owner.ts';

const seconds = Number(process.argv[2] ?? 5);
const COMPANIES = Number(process.argv[3] ?? 100_000);
const CONTACTS = COMPANIES * 3;
const ACTIVITIES = Number(process.argv[4] ?? COMPANIES * 10);
const clients = 10;
const dataDir = mkdtempSync(path.join(tmpdir(), 'filo-bench-api-'));

const filo = await startFilo(
  loadConfig({ DATA_DIR: dataDir, PORT: '0', SMTP_PORT: '0', HOST: '127.0.0.1', ROLES: 'web', LOG_LEVEL: 'silent' }),
  pino({ level: 'silent' }),
);
// A failing run must not leave its embedded PostgreSQL behind: the cluster outlives this process otherwise.
// (Stopping it ends the bench's own connections, whose errors come here too: the first error is the one reported.)
let failed = false;
process.on('uncaughtException', (err) => {
  if (failed) return;
  failed = true;
  console.error(err);
  void filo.stop().finally(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(1);
  });
});
const base = `http://127.0.0.1:${filo.httpPort}`;
const owner = new pg.Client({ connectionString: filo.databaseUrl });
await owner.connect();
const { tenantId, userId } = await demoOwner(owner);

// ---- data -------------------------------------------------------------------------------------------------
const t0 = performance.now();
// A 10M-row load writes gigabytes of WAL (the rows, then the index builds): with the default 1 GB between
// checkpoints, a checkpoint every few seconds and full-page images after each. Raised for the load only (this
// cluster is the bench's own), back to the default before measuring.
await owner.query(`alter system set max_wal_size = '16GB'`);
await owner.query(`select pg_reload_conf()`);
const companyIds: string[] = [];
const companyNames: string[] = [];
const types = ['client', 'supplier', 'stakeholder'];
const statuses = ['active', 'inactive', 'prospect'];
for (let done = 0; done < COMPANIES; done += 10_000) {
  const n = Math.min(10_000, COMPANIES - done);
  const ids: string[] = [];
  const names: string[] = [];
  const t: string[] = [];
  const st: string[] = [];
  const ind: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = i % 2 ? fakerIT : fakerEN;
    ids.push(randomUUID());
    names.push(f.company.name());
    t.push(types[i % 3]!);
    st.push(statuses[(i >> 2) % 3]!);
    ind.push(f.commerce.department());
  }
  companyIds.push(...ids);
  companyNames.push(...names);
  await owner.query(
    `insert into companies (id, tenant_id, name, type, status, industry, created_by)
     select unnest($1::uuid[]), $2, unnest($3::text[]), unnest($4::text[]), unnest($5::text[]), unnest($6::text[]), $7`,
    [ids, tenantId, names, t, st, ind, userId],
  );
}
const contactNames: string[] = [];
for (let done = 0; done < CONTACTS; done += 10_000) {
  const n = Math.min(10_000, CONTACTS - done);
  const company: string[] = [];
  const first: string[] = [];
  const last: string[] = [];
  const email: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = i % 2 ? fakerIT : fakerEN;
    company.push(companyIds[(done + i) % COMPANIES]!);
    const fn = f.person.firstName();
    const ln = f.person.lastName();
    first.push(fn);
    last.push(ln);
    email.push(f.internet.email({ firstName: fn, lastName: ln }).toLowerCase());
    if (i % 100 === 0) contactNames.push(`${fn} ${ln}`);
  }
  await owner.query(
    `insert into contacts (id, tenant_id, company_id, first_name, last_name, email, created_by)
     select gen_random_uuid(), $1, unnest($2::uuid[]), unnest($3::text[]), unnest($4::text[]), unnest($5::text[]), $6`,
    [tenantId, company, first, last, email, userId],
  );
}
// Activities: ten per company by default, in seq order as the service would have written them, after the demo
// data's own; every hundredth goes to the first company, whose timeline is then deep enough for a cursor far back.
const {
  longCompanyId,
  longSeqs,
  seconds: loadTimes,
} = await loadActivities(owner, {
  tenantId,
  userId,
  companyIds,
  total: ACTIVITIES,
  progress: (line) => console.log(line),
});
await owner.query('vacuum analyze');
await owner.query(`alter system reset max_wal_size`);
await owner.query(`select pg_reload_conf()`);
const loadSeconds = (performance.now() - t0) / 1000;
console.log(
  `loaded ${COMPANIES.toLocaleString('en')} companies, ${CONTACTS.toLocaleString('en')} contacts, ${ACTIVITIES.toLocaleString('en')} activities in ${loadSeconds.toFixed(1)} s` +
    ` (activities ${loadTimes.rows.toFixed(1)} s, their indexes ${loadTimes.indexes.toFixed(1)} s)\n`,
);

// ---- the same queries, raw -------------------------------------------------------------------------------
const app = new pg.Client({ connectionString: (filo.orm.config.get('clientUrl') as string) ?? '' });
await app.connect();
await app.query('begin');
await app.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
type Sql = [text: string, values: unknown[]];
const TIMELINE = `select a.*, u.name as actor_name from activities a left join users u on u.id = a.created_by
  where a.tenant_id = $1 and a.company_id = $2`;
// The deep cursor: somewhere in the oldest tenth of the long company's history (at least a page from its start),
// and the same page by OFFSET for contrast. Read with `before`, as the web app pages back.
const deepAt = () => {
  const lo = Math.min(50, longSeqs.length - 1);
  const k = lo + Math.floor(Math.random() * Math.max(1, Math.floor(longSeqs.length / 10) - lo));
  return { before: longSeqs[k]!, offset: longSeqs.length - k };
};
const deepQuery = () => {
  const { before } = deepAt();
  return [`${TIMELINE} and a.seq < $3 order by a.seq desc limit 50`, [tenantId, longCompanyId, before]] as Sql;
};
const offsetQuery = () => {
  const { offset } = deepAt();
  return [`${TIMELINE} order by a.seq desc offset $3 limit 50`, [tenantId, longCompanyId, offset]] as Sql;
};
const firstQuery = () => [`${TIMELINE} order by a.seq desc limit 50`, [tenantId, pick(companyIds)]] as Sql;
/** Shared buffers (hit + read) a query touches: a cost the machine's load does not move. */
const buffers = async ([text, values]: Sql) => {
  const [{ 'QUERY PLAN': plan }] = (await app.query(`explain (analyze, buffers, format json) ${text}`, values))
    .rows as [{ 'QUERY PLAN': [{ Plan: Record<string, number> }] }];
  return plan[0].Plan['Shared Hit Blocks']! + plan[0].Plan['Shared Read Blocks']!;
};
const raw = {
  timeline: await timeEach(500, () => app.query(...firstQuery())),
  deep: await timeEach(500, () => app.query(...deepQuery())),
  offset: await timeEach(50, () => app.query(...offsetQuery())),
  list: await timeEach(500, () =>
    app.query(
      `select * from companies where tenant_id = $1 and type = 'client' and status = 'active' order by name, id limit 51`,
      [tenantId],
    ),
  ),
};
const touched = {
  timeline: await buffers(firstQuery()),
  deep: await buffers(deepQuery()),
  offset: await buffers(offsetQuery()),
};
await app.query('rollback');
await app.end();
const rawLine = (label: string, r: { p50: number; p95: number }, blocks?: number) =>
  console.log(
    `${label.padEnd(27)}p50 ${r.p50.toFixed(2)} ms  p95 ${r.p95.toFixed(2)} ms` +
      (blocks === undefined ? '' : `  ${blocks.toLocaleString('en')} buffers`),
  );
rawLine('raw SQL timeline page', raw.timeline, touched.timeline);
rawLine('raw SQL timeline deep', raw.deep, touched.deep);
rawLine('raw SQL same by OFFSET', raw.offset, touched.offset);
console.log(
  `  (deep: a cursor in the oldest tenth of a company with ${longSeqs.length.toLocaleString('en')} activities; OFFSET: 50 runs)`,
);
console.log(`raw SQL company list page  p50 ${raw.list.p50.toFixed(2)} ms  p95 ${raw.list.p95.toFixed(2)} ms\n`);

// ---- over HTTP --------------------------------------------------------------------------------------------
const loginRes = await fetch(`${base}/api/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', origin: base },
  body: JSON.stringify({ email: 'demo@filo.local', password: 'filo-demo' }),
});
const cookie = loginRes.headers.get('set-cookie')!.split(';')[0]!;
const headers = { cookie };

const bare = express();
const samplePage = await (
  await fetch(`${base}/api/crm/timeline?entityType=company&entityId=${companyIds[0]}&limit=50`, { headers })
).json();
bare.get('/json', (_req, res) => {
  res.json(samplePage);
});
const bareServer = createServer(bare);
await new Promise<void>((r) => bareServer.listen(0, '127.0.0.1', r));
const bareUrl = `http://127.0.0.1:${(bareServer.address() as { port: number }).port}/json`;

await load(bareUrl, { clients, seconds: 1 });
const baseline = await load(bareUrl, { clients, seconds });
report('bare Express, same JSON (baseline)', baseline);
report(
  'timeline page (50, random company)',
  await load(() => `${base}/api/crm/timeline?entityType=company&entityId=${pick(companyIds)}&limit=50`, {
    clients,
    seconds,
    headers,
  }),
  baseline,
);
report(
  'timeline deep cursor (50)',
  await load(
    () => `${base}/api/crm/timeline?entityType=company&entityId=${longCompanyId}&before=${deepAt().before}&limit=50`,
    { clients, seconds, headers },
  ),
  baseline,
);
report(
  'company list (type+status, 50)',
  await load(`${base}/api/crm/companies?type=client&status=active&limit=50`, { clients, seconds, headers }),
  baseline,
);
const queries = [
  ...companyNames.slice(0, 500).map((n) => n.split(/\s+/)[0]!.slice(0, 5)),
  ...contactNames.slice(0, 500),
];
report(
  'search (company prefix / full name)',
  await load(() => `${base}/api/search?q=${encodeURIComponent(pick(queries))}`, { clients, seconds, headers }),
  baseline,
);

await owner.end();
bareServer.close();
await filo.stop();
rmSync(dataDir, { recursive: true, force: true });
