/**
 * The CRM API at size: 100k companies, 300k contacts (realistic Italian and English names) and 1M activities
 * in one workspace. Reports p50/p95 and req/s with 10 clients for a company timeline page, a filtered company
 * list page and a search, beside the raw SQL time of the same queries and a bare Express baseline, same run.
 *   node bench/api.bench.ts [seconds=5] [companies=100000]
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

const seconds = Number(process.argv[2] ?? 5);
const COMPANIES = Number(process.argv[3] ?? 100_000);
const CONTACTS = COMPANIES * 3;
const ACTIVITIES = COMPANIES * 10;
const clients = 10;
const dataDir = mkdtempSync(path.join(tmpdir(), 'filo-bench-api-'));

const filo = await startFilo(
  loadConfig({ DATA_DIR: dataDir, PORT: '0', SMTP_PORT: '0', HOST: '127.0.0.1', ROLES: 'web', LOG_LEVEL: 'silent' }),
  pino({ level: 'silent' }),
);
const base = `http://127.0.0.1:${filo.httpPort}`;
const owner = new pg.Client({ connectionString: filo.databaseUrl });
await owner.connect();
const [{ tenant_id: tenantId, user_id: userId }] = (
  await owner.query(
    `select m.tenant_id, m.user_id from memberships m join users u on u.id = m.user_id where u.email = 'demo@filo.local'`,
  )
).rows;

// ---- data -------------------------------------------------------------------------------------------------
const t0 = performance.now();
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
// Activities: ten per company, in seq order as the service would have written them, after the demo data's own.
await owner.query(`select set_config('app.tenant_id', $1, false)`, [tenantId]);
const [{ activity_seq: seq0 }] = (await owner.query(`select activity_seq from tenants where id = $1`, [tenantId])).rows;
await owner.query(
  `insert into activities (id, tenant_id, seq, entity_type, entity_id, company_id, activity_type, title, metadata, created_by)
   select gen_random_uuid(), $1, $6::bigint + g, 'company', c.id, c.id,
          (array['note.added','company.updated','deal.stage_changed','email.sent'])[1 + g % 4],
          'Activity ' || g, '{}'::jsonb, $2
     from generate_series(1, $3::int) g
     join lateral (select ($4::uuid[])[1 + (g % $5::int)] as id) c on true`,
  [tenantId, userId, ACTIVITIES, companyIds, COMPANIES, seq0],
);
await owner.query(`update tenants set activity_seq = $2 where id = $1`, [tenantId, Number(seq0) + ACTIVITIES]);
await owner.query('vacuum analyze');
const loadSeconds = (performance.now() - t0) / 1000;
console.log(
  `loaded ${COMPANIES.toLocaleString('en')} companies, ${CONTACTS.toLocaleString('en')} contacts, ${ACTIVITIES.toLocaleString('en')} activities in ${loadSeconds.toFixed(1)} s\n`,
);

// ---- the same queries, raw -------------------------------------------------------------------------------
const app = new pg.Client({ connectionString: (filo.orm.config.get('clientUrl') as string) ?? '' });
await app.connect();
await app.query('begin');
await app.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
const raw = {
  timeline: await timeEach(500, () =>
    app.query(
      `select a.*, u.name as actor_name from activities a left join users u on u.id = a.created_by
        where a.tenant_id = $1 and a.company_id = $2 order by a.seq desc limit 50`,
      [tenantId, pick(companyIds)],
    ),
  ),
  list: await timeEach(500, () =>
    app.query(
      `select * from companies where tenant_id = $1 and type = 'client' and status = 'active' order by name, id limit 51`,
      [tenantId],
    ),
  ),
};
await app.query('rollback');
await app.end();
console.log(`raw SQL timeline page      p50 ${raw.timeline.p50.toFixed(2)} ms  p95 ${raw.timeline.p95.toFixed(2)} ms`);
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
