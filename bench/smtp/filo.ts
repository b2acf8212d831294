/**
 * The measured target of bench/smtp: a real Filo on an embedded PostgreSQL that this process starts, so that it
 * can count the accepted messages itself. The gateway runs as `ROLES=web,smtp` (`node server/main.ts`); the
 * processing worker is a second process (`ROLES=worker`) that the bench starts when it measures processing,
 * so that the throughput rounds measure what a 250 costs, not the processing of earlier rounds' mail. The two
 * share a redis-server, as nodes of one deployment do (the worker's activities reach the web node's sockets).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { pino } from 'pino';
import { io as connect } from 'socket.io-client';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../db/embedded.ts';
import { startRedis } from '../../test/support/redis.ts';
import { withChildren } from './cpu.ts';
import { waitForGreeting } from './source.ts';
import { until } from '../lib/until.ts';

export interface Mailbox {
  id: string;
  name: string;
  localPart: string;
  inboundAddress: string;
}

export interface FiloTarget {
  proc: ChildProcess;
  baseUrl: string;
  smtpPort: number;
  cookie: string;
  /** Undefined when `POST /api/inbox/mailboxes` does not exist yet (404). */
  mailbox: Mailbox | undefined;
  /** Rows in `inbound_messages` for the mailbox: what Filo has accepted durably. */
  accepted(): Promise<number>;
  /** Of those, the ones still waiting for processing (`status = 'received'`). */
  pending(): Promise<number>;
  /** Rows of the mailbox by status. */
  byStatus(): Promise<Record<string, number>>;
  /** Filo's processes, the postmaster and its backends: whose CPU time a round costs. */
  pids(): number[];
  /** Starts the worker process (`ROLES=worker`), which processes the accepted mail. */
  startWorker(): Promise<void>;
  /** Accepted messages not processed yet are dropped (their rows and jobs), so that later figures start clean. */
  dropBacklog(): Promise<number>;
  output(): string;
  /** Its warnings and errors so far, counted by message (a bench that fails quietly would mislead). */
  problems(): string[];
  stop(): Promise<void>;
}

const fmtCount = (n: number) => n.toLocaleString('en');

export async function startFiloTarget(dir: string): Promise<FiloTarget> {
  const pgDir = path.join(dir, 'pg');
  const db: EmbeddedDatabase = await startEmbeddedPostgres(pgDir, pino({ level: 'warn' }));
  // The worker is another node: its `email.received` activities reach the web node's sockets through Redis.
  const redis = await startRedis();
  const postmaster = Number(readFileSync(path.join(pgDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const port = await freePort();
  const smtpPort = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = (roles: string) => ({
    ...process.env,
    ROLES: roles,
    REDIS_URL: redis.url,
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    DATA_DIR: path.join(dir, 'data'),
    PORT: String(port),
    SMTP_PORT: String(smtpPort),
    HOST: '127.0.0.1',
    PUBLIC_URL: baseUrl,
    SECRET_KEY: 'b'.repeat(64),
    // Nothing logged per message, as for the two baselines.
    LOG_LEVEL: 'warn',
    // smtp-source stands for many senders but connects from one address: lift the per-address limits.
    SMTP_MAX_CONNECTIONS_PER_IP: '100000',
    SMTP_MAX_MESSAGES_PER_IP_PER_MINUTE: '10000000',
  });
  // BENCH_GATEWAY_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to the gateway node only: to profile it.
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, 'server/main.ts'], {
    env: env('web,smtp'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let worker: ChildProcess | undefined;
  let output = '';
  let partial = '';
  const problems = new Map<string, number>();
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((entry.level ?? 0) < 40) continue;
        const err = entry.err?.message ? ` (${entry.err.message.split('\n')[0]})` : '';
        const key = `${entry.level! >= 50 ? 'error' : 'warn'}: ${entry.msg ?? ''}${err}`;
        problems.set(key, (problems.get(key) ?? 0) + 1);
      } catch {
        // not a log line
      }
    }
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const client = new pg.Client({ connectionString: db.url });

  const stop = async () => {
    await client.end().catch(() => undefined);
    if (worker && worker.exitCode === null) {
      const gone = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await gone;
    }
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
    await db.stop();
    await redis.stop();
  };

  try {
    await Promise.race([
      until('Filo /readyz', 180_000, async () => ((await fetch(`${baseUrl}/readyz`)).ok ? true : undefined)),
      exited.then(() => Promise.reject(new Error(`Filo exited at start-up:\n${output.slice(-3000)}`))),
    ]);
    await waitForGreeting(smtpPort);
    await client.connect();

    const login = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: baseUrl },
      body: JSON.stringify({ email: 'demo@filo.local', password: 'filo-demo' }),
    });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;

    const created = await fetch(`${baseUrl}/api/inbox/mailboxes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: baseUrl, cookie },
      body: JSON.stringify({ name: 'Bench', localPart: 'bench' }),
    });
    let mailbox: Mailbox | undefined;
    if (created.status === 201) mailbox = (await created.json()) as Mailbox;
    else if (created.status !== 404) {
      throw new Error(`POST /api/inbox/mailboxes: ${created.status} ${await created.text()}`);
    }

    const count = async (where: string) => {
      if (!mailbox) return 0;
      const { rows } = await client.query<{ n: number }>(
        `select count(*)::int as n from inbound_messages where mailbox_id = $1 ${where}`,
        [mailbox.id],
      );
      return rows[0]!.n;
    };
    return {
      proc,
      baseUrl,
      smtpPort,
      cookie,
      mailbox,
      accepted: () => count(''),
      pending: () => count(`and status = 'received'`),
      async byStatus() {
        if (!mailbox) return {};
        const { rows } = await client.query<{ status: string; n: number }>(
          `select status, count(*)::int as n from inbound_messages where mailbox_id = $1 group by status`,
          [mailbox.id],
        );
        return Object.fromEntries(rows.map((r) => [r.status, r.n]));
      },
      pids: () => [proc.pid!, ...(worker?.exitCode === null ? [worker.pid!] : []), ...withChildren(postmaster)],
      async startWorker() {
        worker = spawn(process.execPath, ['server/main.ts'], { env: env('worker'), stdio: ['ignore', 'pipe', 'pipe'] });
        worker.stdout!.on('data', keep);
        worker.stderr!.on('data', keep);
      },
      async dropBacklog() {
        // Skipping the rows the worker holds: a plain delete queued behind each of its transactions while the
        // worker's next look-ups queued behind the delete's locks, and on a loaded machine it took many minutes.
        const { rowCount } = await client.query(
          `delete from inbound_messages where id in
             (select id from inbound_messages where status = 'received' for update skip locked)`,
        );
        await client.query(`delete from pgboss.job where name = 'inbound.process' and state in ('created', 'retry')`);
        return rowCount ?? 0;
      },
      output: () => output,
      problems: () => [...problems].slice(0, 10).map(([key, n]) => `  ${fmtCount(n)} x ${key}`),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Waits until Filo has processed everything it accepted (no row left in `received`), so that its background
 * work does not run during the next target's round. Gives up when the backlog stops shrinking for `stallMs`.
 */
export async function drain(filo: FiloTarget, stallMs = 20_000): Promise<{ seconds: number; left: number }> {
  const started = performance.now();
  let left = await filo.pending();
  let lastProgress = Date.now();
  while (left > 0 && Date.now() - lastProgress < stallMs) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await filo.pending();
    if (now < left) lastProgress = Date.now();
    left = now;
  }
  return { seconds: (performance.now() - started) / 1000, left };
}

export interface LatencyRun {
  sent: number;
  /** Messages answered 250. */
  accepted: number;
  /** Of those, the ones whose `email.received` activity reached the tenant feed in time. */
  seen: number;
  /** From the 250 to the `activity:new` on the socket, ms, sorted. */
  delays: number[];
  errors: string[];
}

/**
 * Sends `count` messages, one every `intervalMs`, over a pooled nodemailer transport, and times each from its
 * 250 to its `email.received` activity on the tenant feed (Socket.io, signed in with the session cookie).
 * Each message carries a unique token in its Message-ID and subject; an activity matches when its JSON has it.
 */
export async function measureLatency(
  filo: FiloTarget,
  opts: { count: number; intervalMs: number; size: number; waitMs: number },
): Promise<LatencyRun> {
  const socket = connect(filo.baseUrl, {
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: { cookie: filo.cookie },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('session:ready', () => resolve());
    socket.once('connect_error', reject);
  });
  const run = `${Date.now().toString(36)}`;
  const token = (i: number) => `bench-lat-${run}-${i}`;
  const seenAt = new Map<string, number>();
  socket.on('activity:new', (activity: { type?: string }) => {
    if (activity.type !== 'email.received') return;
    const at = performance.now();
    const json = JSON.stringify(activity);
    const m = json.match(new RegExp(`bench-lat-${run}-(\\d+)`));
    if (m && !seenAt.has(m[1]!)) seenAt.set(m[1]!, at);
  });

  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: filo.smtpPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 5,
    maxMessages: Infinity,
  });
  const text = `${'0123456789abcdef'.repeat(63)}\n`.repeat(Math.max(1, Math.round(opts.size / 1024)));
  const acceptedAt = new Map<string, number>();
  const errors: string[] = [];
  const sends: Promise<void>[] = [];
  for (let i = 0; i < opts.count; i++) {
    sends.push(
      transport
        .sendMail({
          from: 'Bench Sender <sender@bench.test>',
          to: filo.mailbox!.inboundAddress,
          subject: `latency ${token(i)}`,
          messageId: `<${token(i)}@bench.test>`,
          text,
        })
        .then(
          () => void acceptedAt.set(String(i), performance.now()),
          (err: Error) => void errors.push(err.message),
        ),
    );
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
  await Promise.all(sends);
  transport.close();
  const deadline = Date.now() + opts.waitMs;
  while (Date.now() < deadline && [...acceptedAt.keys()].some((k) => !seenAt.has(k))) {
    await new Promise((r) => setTimeout(r, 100));
  }
  socket.disconnect();
  const delays: number[] = [];
  for (const [k, t250] of acceptedAt) {
    const t = seenAt.get(k);
    if (t !== undefined) delays.push(t - t250);
  }
  delays.sort((a, b) => a - b);
  return { sent: opts.count, accepted: acceptedAt.size, seen: delays.length, delays, errors: [...new Set(errors)] };
}
