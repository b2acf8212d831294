/**
 * Live delivery at scale: N sockets (default 1,000) watch one company; notes are POSTed over HTTP at 10/s;
 * each socket's delivery latency is measured from the activity's creation (just before commit) to receipt.
 * Baseline, same run and same clients: a bare Socket.io server broadcasting a timestamp to the same number
 * of sockets.
 * Also: server memory per connected idle socket (Filo: authenticated, watching one company, with presence),
 * read inside each server process after forced GCs (bench/realtime/probe.ts), as the growth from before the
 * sockets connected to after they are idle, divided by the sockets. The clients live in child processes
 * (bench/realtime/clients.ts, at most 5,000 sockets each) so that neither server carries their memory.
 * With nodes=2, two Filo processes share PostgreSQL and a real redis-server; half the sockets connect to each
 * and the notes are POSTed to the first.
 *   node bench/realtime.bench.ts [sockets=1000] [seconds=5] [nodes=1]
 * BENCH_HEAP_SNAPSHOT=<dir> also writes heap snapshots of the bare server and the (first) Filo process, before
 * and after the sockets connect (a snapshot of 10,000 sockets stalls the server for seconds: latencies suffer).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startEmbeddedPostgres, freePort } from '../db/embedded.ts';
import { startRedis } from '../test/support/redis.ts';

const SOCKETS = Number(process.argv[2] ?? 1000);
const SECONDS = Number(process.argv[3] ?? 5);
const NODES = Number(process.argv[4] ?? 1);
const PER_CLIENT_PROCESS = 5000;
const WARMUP = 100;
const SNAPSHOTS = process.env.BENCH_HEAP_SNAPSHOT;
const dir = mkdtempSync(path.join(tmpdir(), 'filo-bench-rt-'));
const quantile = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

// Every socket is a file descriptor in its server and in a client process: children raise their soft limit
// to the hard one (`ulimit -n`), which must cover the busiest process.
const hardLimit = Number(readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+\d+\s+(\d+|unlimited)/)![1]);
const needed = Math.max(SOCKETS / NODES, Math.min(SOCKETS, PER_CLIENT_PROCESS)) + 1024;
if (hardLimit < needed) {
  console.error(`need ${needed} file descriptors per process, the hard limit is ${hardLimit}: raise it (ulimit -Hn)`);
  process.exit(1);
}

/** Children to stop and folders to remove at exit, also when the bench fails or is interrupted. */
const children = new Set<ChildProcess>();
const cleanups: (() => Promise<unknown>)[] = [];
async function finish(code: number) {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all([...children].map((c) => c.exitCode === null && new Promise((r) => c.once('exit', r))));
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void finish(130));
process.once('uncaughtException', (err) => {
  console.error(err);
  void finish(1);
});

function spawnNode(args: string[], env: Record<string, string> = {}): ChildProcess {
  const proc = spawn('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"', process.execPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** The next IPC message of a child that has `key`, after sending it `msg`. */
function ask<T>(proc: ChildProcess, msg: object, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      proc.off('message', onMessage);
      proc.off('exit', onExit);
      resolve(m[key] as T);
    };
    const onExit = (code: number) => reject(new Error(`child exited ${code} while waiting for ${key}`));
    proc.on('message', onMessage);
    proc.once('exit', onExit);
    proc.send(msg);
  });
}

function server(args: string[], env: Record<string, string>): Promise<{ proc: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawnNode(['--expose-gc', 'bench/realtime/probe.ts', ...args], env);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening (\d+)|"http":(\d+)/);
      if (m) resolve({ proc, port: Number(m[1] ?? m[2]) });
    });
    proc.once('exit', (code) => reject(new Error(`child exited ${code}: ${out}`)));
  });
}

/** Client processes, PER_CLIENT_PROCESS sockets at most each, started once and reused by both servers. */
const clientProcs = Array.from({ length: Math.ceil(SOCKETS / PER_CLIENT_PROCESS) }, () => {
  const proc = spawnNode(['bench/realtime/clients.ts']);
  proc.stdout!.pipe(process.stdout);
  return proc;
});
const onClients = <T>(msg: object, key: string) => Promise.all(clientProcs.map((p) => ask<T>(p, msg, key)));

/** Opens n sockets spread over the client processes, per URL (one per node). */
async function openSockets(urls: string[], n: number, opts: { cookie?: string; watch?: object }) {
  const jobs: Promise<unknown>[] = [];
  let proc = 0;
  for (const url of urls) {
    let left = n / urls.length;
    while (left > 0) {
      const take = Math.min(left, PER_CLIENT_PROCESS / urls.length);
      jobs.push(ask(clientProcs[proc++ % clientProcs.length]!, { cmd: 'open', url, n: take, ...opts }, 'opened'));
      left -= take;
    }
  }
  await Promise.all(jobs);
}

type Memory = NodeJS.MemoryUsage;
const memory = (procs: ChildProcess[]) => Promise.all(procs.map((p) => ask<Memory>(p, { cmd: 'memory' }, 'memory')));
/** Growth per socket, summed over the nodes. */
function perSocket(before: Memory[], after: Memory[]) {
  const delta = (k: keyof Memory) => before.reduce((sum, b, i) => sum + after[i]![k] - b[k], 0) / SOCKETS;
  return { rss: delta('rss'), heapUsed: delta('heapUsed'), heapTotal: delta('heapTotal'), external: delta('external') };
}

/** Waits until every expected delivery arrived, or none arrived for 3 s (then the summary shows the shortfall). */
async function drain(expected: number) {
  let last = -1;
  for (let still = 0; still < 3;) {
    await sleep(1000);
    const count = (await onClients<number>({ cmd: 'count' }, 'count')).reduce((a, b) => a + b, 0);
    if (count >= expected) return;
    still = count === last ? still + 1 : 0;
    last = count;
  }
}

function summary(name: string, latencies: number[], expected: number, seconds: number) {
  latencies.sort((a, b) => a - b);
  const line = `${name.padEnd(30)} deliveries ${latencies.length}/${expected}  ${(latencies.length / seconds).toFixed(0)}/s  p50 ${quantile(latencies, 0.5).toFixed(1)} ms  p99 ${quantile(latencies, 0.99).toFixed(1)} ms  max ${(latencies.at(-1) ?? 0).toFixed(1)} ms`;
  console.log(line);
  return quantile(latencies, 0.99);
}

// ---- baseline: bare Socket.io --------------------------------------------------------------------------
const bare = await server(['bench/lib/bare-io.ts', '0'], {});
const bareUrl = `http://127.0.0.1:${bare.port}`;
// A first batch connects and leaves, so that what is compiled or allocated once is not counted per socket.
await openSockets([bareUrl], WARMUP, {});
await onClients({ cmd: 'close' }, 'closed');
await sleep(500);
const bareMem0 = await memory([bare.proc]);
if (SNAPSHOTS)
  await ask(bare.proc, { cmd: 'snapshot', file: path.join(SNAPSHOTS, 'bare-before.heapsnapshot') }, 'snapshot');
await openSockets([bareUrl], SOCKETS, {});
await sleep(2000);
const bareMem = perSocket(bareMem0, await memory([bare.proc]));
if (SNAPSHOTS)
  await ask(bare.proc, { cmd: 'snapshot', file: path.join(SNAPSHOTS, 'bare-after.heapsnapshot') }, 'snapshot');
await onClients({ cmd: 'listen', event: 'tick' }, 'listening');
const bareSent = SECONDS * 10;
for (let i = 0; i < bareSent; i++) {
  await fetch(`${bareUrl}/emit`);
  await sleep(100);
}
await drain(bareSent * SOCKETS);
const bareLatencies = (await onClients<number[]>({ cmd: 'collect' }, 'latencies')).flat();
await onClients({ cmd: 'close' }, 'closed');
bare.proc.kill('SIGTERM');

// ---- Filo ---------------------------------------------------------------------------------------------
const db = await startEmbeddedPostgres(dir, pino({ level: 'warn' }));
cleanups.push(() => db.stop());
const redis = NODES > 1 ? await startRedis() : undefined;
if (redis) cleanups.push(() => redis.stop());
const filos: { proc: ChildProcess; port: number }[] = [];
for (let n = 0; n < NODES; n++) {
  const port = await freePort();
  filos.push(
    await server(['server/main.ts'], {
      DATABASE_URL: db.url,
      DATA_DIR: path.join(dir, `node${n}`),
      PORT: String(port),
      ROLES: 'web',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      SECRET_KEY: 'b'.repeat(64),
      ...(redis ? { REDIS_URL: redis.url } : {}),
    }),
  );
}
const filo = filos[0]!;
const base = `http://127.0.0.1:${filo.port}`;
const filoUrls = filos.map((f) => `http://127.0.0.1:${f.port}`);
const login = await fetch(`${base}/api/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', origin: base },
  body: JSON.stringify({ email: 'demo@filo.local', password: 'filo-demo' }),
});
const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
const headers = { cookie, origin: base, 'content-type': 'application/json' };
const company = (await (
  await fetch(`${base}/api/crm/companies`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'Wall Spa', type: 'client' }),
  })
).json()) as { id: string };
const watch = { type: 'company', id: company.id };
await openSockets(filoUrls, WARMUP * NODES, { cookie, watch });
await onClients({ cmd: 'close' }, 'closed');
await sleep(500);
const filoProcs = filos.map((f) => f.proc);
const filoMem0 = await memory(filoProcs);
if (SNAPSHOTS)
  await ask(filo.proc, { cmd: 'snapshot', file: path.join(SNAPSHOTS, 'filo-before.heapsnapshot') }, 'snapshot');
await openSockets(filoUrls, SOCKETS, { cookie, watch });
// Presence broadcasts are coalesced over 50 ms: let the last ones go out before reading memory.
await sleep(2000);
const filoMem = perSocket(filoMem0, await memory(filoProcs));
if (SNAPSHOTS)
  await ask(filo.proc, { cmd: 'snapshot', file: path.join(SNAPSHOTS, 'filo-after.heapsnapshot') }, 'snapshot');
await onClients({ cmd: 'listen', event: 'activity:new', entityId: company.id }, 'listening');
const sent = SECONDS * 10;
let failedPosts = 0;
for (let i = 0; i < sent; i++) {
  void fetch(`${base}/api/crm/notes`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ entityType: 'company', entityId: company.id, content: `note ${i}` }),
  }).then(
    (res) => void (res.ok || failedPosts++),
    () => failedPosts++,
  );
  await sleep(100);
}
await drain(sent * SOCKETS);
const latencies = (await onClients<number[]>({ cmd: 'collect' }, 'latencies')).flat();

console.log(
  `\n${SOCKETS.toLocaleString('en')} sockets on ${NODES} node(s)${redis ? ' with Redis' : ''}, ${sent} events at 10/s, node ${process.version}\n`,
);
const baseP99 = summary('bare Socket.io broadcast', bareLatencies, bareSent * SOCKETS, SECONDS);
const filoP99 = summary('Filo note -> activity:new', latencies, sent * SOCKETS, SECONDS);
if (failedPosts) console.log(`${failedPosts} of ${sent} note POSTs failed`);
console.log(`\np99 ratio Filo / bare: ${(filoP99 / Math.max(baseP99, 1)).toFixed(2)}x (target <= 1.5x)`);
console.log(`\nserver memory per idle socket, after forced GC (growth / ${SOCKETS.toLocaleString('en')} sockets):`);
for (const [name, m] of [
  ['bare Socket.io', bareMem],
  ['Filo (watching, presence)', filoMem],
] as const)
  console.log(
    `${name.padEnd(30)} RSS ${kb(m.rss).padStart(9)}  heap used ${kb(m.heapUsed).padStart(9)}  heap total ${kb(m.heapTotal).padStart(9)}  external ${kb(m.external).padStart(8)}`,
  );
console.log(
  `ratio Filo / bare: RSS ${(filoMem.rss / bareMem.rss).toFixed(2)}x, heap used ${(filoMem.heapUsed / bareMem.heapUsed).toFixed(2)}x (target: Filo <= 50 KB per socket)`,
);

await onClients({ cmd: 'close' }, 'closed');
await finish(0);
