/**
 * Live delivery at scale: N sockets (default 1,000) watch one company; notes are POSTed over HTTP at 10/s;
 * each socket's delivery latency is measured from the activity's creation (just before commit) to receipt.
 * Baseline, same run and same clients: a bare Socket.io server broadcasting a timestamp to the same number
 * of sockets. Also: server memory per connected idle socket (with presence), from the server's RSS.
 * With nodes=2, two Filo processes share PostgreSQL and a real redis-server; half the sockets connect to each
 * and the notes are POSTed to the first.
 *   node bench/realtime.bench.ts [sockets=1000] [seconds=5] [nodes=1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { io as connect, type Socket } from 'socket.io-client';
import { startEmbeddedPostgres, freePort } from '../db/embedded.ts';
import { startRedis } from '../test/support/redis.ts';

const SOCKETS = Number(process.argv[2] ?? 1000);
const SECONDS = Number(process.argv[3] ?? 5);
const NODES = Number(process.argv[4] ?? 1);
const dir = mkdtempSync(path.join(tmpdir(), 'filo-bench-rt-'));
const quantile = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
const rssOf = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) * 1024;

function child(args: string[], env: Record<string, string>): Promise<{ proc: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening (\d+)|"http":(\d+)/);
      if (m) resolve({ proc, port: Number(m[1] ?? m[2]) });
    });
    proc.once('exit', (code) => reject(new Error(`child exited ${code}: ${out}`)));
  });
}

async function openSockets(url: string, n: number, opts: { cookie?: string }): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => {
      const s = connect(url, {
        transports: ['websocket'],
        reconnection: false,
        ...(opts.cookie ? { extraHeaders: { cookie: opts.cookie } } : {}),
      });
      sockets.push(s);
      return new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
    });
    await Promise.all(batch);
  }
  return sockets;
}

function summary(name: string, latencies: number[], expected: number, seconds: number) {
  latencies.sort((a, b) => a - b);
  const line = `${name.padEnd(30)} deliveries ${latencies.length}/${expected}  ${(latencies.length / seconds).toFixed(0)}/s  p50 ${quantile(latencies, 0.5).toFixed(1)} ms  p99 ${quantile(latencies, 0.99).toFixed(1)} ms  max ${(latencies.at(-1) ?? 0).toFixed(1)} ms`;
  console.log(line);
  return quantile(latencies, 0.99);
}

// ---- baseline: bare Socket.io --------------------------------------------------------------------------
const bare = await child(['bench/lib/bare-io.ts', '0'], {});
const bareUrl = `http://127.0.0.1:${bare.port}`;
const bareRss0 = rssOf(bare.proc.pid!);
const bareSockets = await openSockets(bareUrl, SOCKETS, {});
const bareLatencies: number[] = [];
for (const s of bareSockets) s.on('tick', (p: { t: number }) => bareLatencies.push(Date.now() - p.t));
const bareSent = SECONDS * 10;
for (let i = 0; i < bareSent; i++) {
  await fetch(`${bareUrl}/emit`);
  await new Promise((r) => setTimeout(r, 100));
}
await new Promise((r) => setTimeout(r, 500));
const bareRssPerSocket = (rssOf(bare.proc.pid!) - bareRss0) / SOCKETS;
for (const s of bareSockets) s.disconnect();
bare.proc.kill('SIGTERM');

// ---- Filo ---------------------------------------------------------------------------------------------
const db = await startEmbeddedPostgres(dir, pino({ level: 'warn' }));
const redis = NODES > 1 ? await startRedis() : undefined;
const filos: { proc: ChildProcess; port: number }[] = [];
for (let n = 0; n < NODES; n++) {
  const port = await freePort();
  filos.push(
    await child(['server/main.ts'], {
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
const filoRss0 = filos.map((f) => rssOf(f.proc.pid!));
const sockets: Socket[] = [];
for (const f of filos) sockets.push(...(await openSockets(`http://127.0.0.1:${f.port}`, SOCKETS / NODES, { cookie })));
await Promise.all(sockets.map((s) => s.emitWithAck('record:watch', { type: 'company', id: company.id })));
await new Promise((r) => setTimeout(r, 500));
const filoRssPerSocket = filos.reduce((sum, f, i) => sum + rssOf(f.proc.pid!) - filoRss0[i]!, 0) / SOCKETS;
const latencies: number[] = [];
for (const s of sockets)
  s.on('activity:new', (a: { entityId: string; createdAt: string }) => {
    if (a.entityId === company.id) latencies.push(Date.now() - Date.parse(a.createdAt));
  });
const sent = SECONDS * 10;
for (let i = 0; i < sent; i++) {
  void fetch(`${base}/api/crm/notes`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ entityType: 'company', entityId: company.id, content: `note ${i}` }),
  });
  await new Promise((r) => setTimeout(r, 100));
}
await new Promise((r) => setTimeout(r, 1000));

console.log(
  `\n${SOCKETS.toLocaleString('en')} sockets on ${NODES} node(s)${redis ? ' with Redis' : ''}, ${sent} events at 10/s, node ${process.version}\n`,
);
const baseP99 = summary('bare Socket.io broadcast', bareLatencies, bareSent * SOCKETS, SECONDS);
const filoP99 = summary('Filo note -> activity:new', latencies, sent * SOCKETS, SECONDS);
console.log(`\np99 ratio Filo / bare: ${(filoP99 / Math.max(baseP99, 1)).toFixed(2)}x (target <= 1.5x)`);
console.log(
  `memory per idle socket: Filo ${(filoRssPerSocket / 1024).toFixed(1)} KB (watching, with presence), bare ${(bareRssPerSocket / 1024).toFixed(1)} KB (target <= 50 KB)`,
);

for (const s of sockets) s.disconnect();
for (const f of filos) {
  f.proc.kill('SIGTERM');
  await new Promise((r) => f.proc.once('exit', r));
}
await redis?.stop();
await db.stop();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
