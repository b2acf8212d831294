/**
 * The Filo that bench/inbound.ts measures: an embedded PostgreSQL, a redis-server, a first node (`ROLES=web`) that
 * migrates, seeds the demo workspace and makes the bench's mailbox and then stops, and the measured node
 * (`ROLES=worker`, warm and idle before each load). Messages are loaded as the gateway writes them: the
 * `inbound_messages` rows under the tenant's setting and their pg-boss jobs, committed in one transaction, so that
 * the worker sees the whole backlog at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { pino } from 'pino';
import { freePort, startEmbeddedPostgres } from '../../db/embedded.ts';
import { INBOUND_QUEUE, type InboundJob } from '../../mail-gateway/inbound-store.ts';
import { startRedis } from '../../test/support/redis.ts';
import { withChildren } from '../smtp/cpu.ts';
import type { SpooledMail } from './messages.ts';
import { until } from '../lib/until.ts';

export interface InboundNode {
  spoolRoot: string;
  inboundAddress: string;
  /** Rows and jobs of these messages in one transaction; `beforeCommit` runs just before it commits. */
  load(mails: SpooledMail[], beforeCommit: () => void): Promise<string[]>;
  /** Of these rows, how many are in each status. */
  statuses(ids: string[]): Promise<Record<string, number>>;
  /** What the processing of these rows wrote. */
  written(ids: string[]): Promise<{ messages: number; conversations: number; activities: number }>;
  /** ANALYZE of the database: the statistics a running deployment's autovacuum has gathered. */
  analyze(): Promise<void>;
  /** The worker, the postmaster and its backends: whose CPU a run costs. */
  pids(): number[];
  /** The worker alone. */
  workerPid(): number;
  problems(): string[];
  stop(): Promise<void>;
}

export async function startInboundNode(
  dir: string,
  opts: { cpuProfDir?: string; dnsServers?: string } = {},
): Promise<InboundNode> {
  const pgDir = path.join(dir, 'pg');
  const db = await startEmbeddedPostgres(pgDir, pino({ level: 'warn' }));
  const redis = await startRedis();
  const postmaster = Number(readFileSync(path.join(pgDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const dataDir = path.join(dir, 'data');
  const env = (roles: string, level: string) => ({
    ...process.env,
    ROLES: roles,
    REDIS_URL: redis.url,
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: baseUrl,
    SECRET_KEY: 'b'.repeat(64),
    LOG_LEVEL: level,
    ...(opts.dnsServers ? { DNS_SERVERS: opts.dnsServers } : {}),
  });
  const problems = new Map<string, number>();
  let output = '';
  const watch = (child: ChildProcess) => {
    let partial = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          const e = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
          if ((e.level ?? 0) < 40) continue;
          const key = `${e.level! >= 50 ? 'error' : 'warn'}: ${e.msg ?? ''}${e.err?.message ? ` (${e.err.message.split('\n')[0]})` : ''}`;
          problems.set(key, (problems.get(key) ?? 0) + 1);
        } catch {
          // not a log line
        }
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  };
  const stopChild = async (child: ChildProcess | undefined) => {
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(killer);
  };

  let web: ChildProcess | undefined;
  let worker: ChildProcess | undefined;
  let boss: PgBoss | undefined;
  const client = new pg.Client({ connectionString: db.url });
  const stop = async () => {
    await boss?.stop({ graceful: false }).catch(() => undefined);
    await client.end().catch(() => undefined);
    await stopChild(web);
    await stopChild(worker);
    await db.stop();
    await redis.stop();
  };
  try {
    web = spawn(process.execPath, ['server/main.ts'], { env: env('web', 'warn'), stdio: ['ignore', 'pipe', 'pipe'] });
    watch(web);
    await until('the web node', 180_000, async () => ((await fetch(`${baseUrl}/readyz`)).ok ? true : undefined));
    const login = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: baseUrl },
      body: JSON.stringify({ email: 'demo@filo.local', password: 'filo-demo' }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const created = await fetch(`${baseUrl}/api/inbox/mailboxes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: baseUrl, cookie },
      body: JSON.stringify({ name: 'Bench', localPart: 'bench' }),
    });
    if (created.status !== 201) throw new Error(`POST /api/inbox/mailboxes: ${created.status} ${await created.text()}`);
    const mailbox = (await created.json()) as { id: string; inboundAddress: string };
    await stopChild(web);
    await client.connect();
    const { rows } = await client.query<{ tenant_id: string }>(`select tenant_id from mailboxes where id = $1`, [
      mailbox.id,
    ]);
    const tenantId = rows[0]!.tenant_id;
    boss = new PgBoss({ connectionString: db.url, schema: 'pgboss', max: 2, supervise: false, schedule: false });
    await boss.start();

    const prof = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
    worker = spawn(process.execPath, [...prof, 'server/main.ts'], {
      env: env('worker', 'info'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    watch(worker);
    const w = worker;
    await until('the worker node', 180_000, async () => {
      if (w.exitCode !== null) throw new Error(`the worker exited:\n${output.slice(-3000)}`);
      return output.includes('"Filo is up"') ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${output.slice(-3000)}`);
    });

    return {
      spoolRoot: path.join(dataDir, 'spool'),
      inboundAddress: mailbox.inboundAddress,
      async load(mails, beforeCommit) {
        const ids = mails.map(() => crypto.randomUUID());
        await client.query('begin');
        try {
          await client.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
          await client.query(
            `insert into inbound_messages (id, tenant_id, mailbox_id, mail_from, rcpt_to, remote_address, helo_name,
               size, sha256, spool_key)
             select * from json_to_recordset($1::json) as x(id uuid, tenant_id uuid, mailbox_id uuid,
               mail_from varchar, rcpt_to text[], remote_address varchar, helo_name varchar, size int,
               sha256 varchar, spool_key text)`,
            [
              JSON.stringify(
                mails.map((m, i) => ({
                  id: ids[i],
                  tenant_id: tenantId,
                  mailbox_id: mailbox.id,
                  mail_from: m.mailFrom,
                  rcpt_to: [mailbox.inboundAddress],
                  remote_address: '192.0.2.10',
                  helo_name: 'mx.bench.example',
                  size: m.size,
                  sha256: m.sha256,
                  spool_key: m.spoolKey,
                })),
              ),
            ],
          );
          const jobs = ids.map((id) => ({ id, data: { inboundId: id, tenantId } satisfies InboundJob }));
          await boss!.insert(INBOUND_QUEUE, jobs, {
            db: { executeSql: (text, values) => client.query(text, values) },
          });
          beforeCommit();
          await client.query('commit');
        } catch (err) {
          await client.query('rollback').catch(() => undefined);
          throw err;
        }
        return ids;
      },
      async statuses(ids) {
        const { rows } = await client.query<{ status: string; n: number }>(
          `select status, count(*)::int as n from inbound_messages where id = any($1::uuid[]) group by status`,
          [ids],
        );
        return Object.fromEntries(rows.map((r) => [r.status, r.n]));
      },
      async written(ids) {
        const { rows } = await client.query<{ messages: number; conversations: number; activities: number }>(
          `select count(m.id)::int as messages, count(distinct m.conversation_id)::int as conversations,
                  (select count(*)::int from activities a where a.tenant_id = $2 and a.activity_type = 'email.received'
                      and (a.metadata->>'emailMessageId')::uuid in (select email_message_id from inbound_messages
                                                                     where id = any($1::uuid[]))) as activities
             from messages m where m.inbound_message_id = any($1::uuid[])`,
          [ids, tenantId],
        );
        return rows[0]!;
      },
      async analyze() {
        await client.query('analyze');
      },
      workerPid: () => worker!.pid!,
      pids: () => [...(worker?.exitCode === null ? [worker.pid!] : []), ...withChildren(postmaster)],
      problems: () => [...problems].slice(0, 10).map(([key, n]) => `  ${n} x ${key}`),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
