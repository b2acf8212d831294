/**
 * `npm run audit:verify`: checks every workspace's audit chain (issue 21) as the database owner. Exits 1 and names
 * the first broken seq of each workspace whose entries were changed, removed or reordered outside Filo.
 * Uses DATABASE_URL, else the embedded PostgreSQL of DATA_DIR (the running one, or started for the check).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { verifyChain } from '../server/audit/verify.ts';

async function connectionUrl(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const dataDir = path.resolve(process.env.DATA_DIR ?? './data');
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  const passwordFile = path.join(dataDir, 'postgres.password');
  if (existsSync(pidFile) && existsSync(passwordFile)) {
    // A running Filo's cluster: line 1 is the postmaster's pid, line 4 its port.
    const [pid, , , port] = readFileSync(pidFile, 'utf8').split('\n');
    const alive = (() => {
      try {
        return process.kill(Number(pid), 0);
      } catch {
        return false;
      }
    })();
    const password = readFileSync(passwordFile, 'utf8').trim();
    if (alive)
      return {
        url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/filo`,
        stop: async () => {},
      };
  }
  if (!existsSync(path.join(dataDir, 'postgres', 'PG_VERSION')))
    throw new Error(`no database in ${dataDir}: set DATA_DIR or DATABASE_URL`);
  const embedded = await startEmbeddedPostgres(dataDir, pino({ level: 'warn' }));
  return { url: embedded.url, stop: () => embedded.stop() };
}

const db = await connectionUrl();
const client = new pg.Client({ connectionString: db.url });
let failed = 0;
try {
  await client.connect();
  const query = async (sql: string, params: unknown[]) => {
    let n = 0;
    return (
      await client.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      )
    ).rows as Record<string, unknown>[];
  };
  const tenants = await query(
    `select t.id, t.slug from tenants t where exists (select 1 from audit_chains c where c.tenant_id = t.id)
        or exists (select 1 from audit_entries e where e.tenant_id = t.id) order by t.slug`,
    [],
  );
  for (const t of tenants) {
    const report = await verifyChain(query, String(t.id));
    if (report.ok) console.log(`ok      ${String(t.slug)}: ${report.entries} entries`);
    else {
      failed++;
      console.log(`BROKEN  ${String(t.slug)}: first broken seq ${report.brokenSeq} (${report.reason})`);
    }
  }
  console.log(failed ? `${failed} workspace chain(s) broken` : `every chain verifies (${tenants.length} workspaces)`);
} finally {
  await client.end().catch(() => undefined);
  await db.stop();
}
process.exit(failed ? 1 : 0);
