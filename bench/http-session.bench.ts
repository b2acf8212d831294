/**
 * Every API request resolves its session cookie (from the node's short-lived cache, else PostgreSQL). This measures
 * what that costs against a bare Express JSON endpoint in the same process, with the same load generator and clients.
 *   node bench/http-session.bench.ts [seconds=5] [clients=10]
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { loadConfig } from '../server/config.ts';
import { startFilo } from '../server/filo.ts';
import { load, report } from './lib/load.ts';

const seconds = Number(process.argv[2] ?? 5);
const clients = Number(process.argv[3] ?? 10);
const dataDir = mkdtempSync(path.join(tmpdir(), 'filo-bench-'));

const bare = express();
bare.get('/json', (_req, res) => {
  res.json({ user: { id: 'x', name: 'Demo Owner', email: 'demo@filo.local' }, role: 'owner' });
});
const bareServer = createServer(bare);
await new Promise<void>((r) => bareServer.listen(0, '127.0.0.1', r));
const barePort = (bareServer.address() as { port: number }).port;

const filo = await startFilo(
  loadConfig({ DATA_DIR: dataDir, PORT: '0', SMTP_PORT: '0', HOST: '127.0.0.1', ROLES: 'web', LOG_LEVEL: 'silent' }),
  pino({ level: 'silent' }),
);
const base = `http://127.0.0.1:${filo.httpPort}`;
const loginRes = await fetch(`${base}/api/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', origin: base },
  body: JSON.stringify({ email: 'demo@filo.local', password: 'filo-demo' }),
});
const cookie = loginRes.headers.get('set-cookie')!.split(';')[0]!;

console.log(`node ${process.version}, ${clients} clients, ${seconds} s each\n`);
await load(`http://127.0.0.1:${barePort}/json`, { clients, seconds: 1 }); // warm-up
const baseline = await load(`http://127.0.0.1:${barePort}/json`, { clients, seconds });
report('bare Express JSON (baseline)', baseline);
report('Filo GET /healthz', await load(`${base}/healthz`, { clients, seconds }), baseline);
report(
  'Filo GET /api/auth/me (session)',
  await load(`${base}/api/auth/me`, { clients, seconds, headers: { cookie } }),
  baseline,
);
// Where the sessions were resolved (server/auth/auth-cache.ts): nearly all from memory, once per TTL from PostgreSQL.
const lookups = (await filo.metrics.credentialLookups.get()).values.filter((v) => v.labels.kind === 'session');
console.log(`session look-ups: ${lookups.map((v) => `${v.labels.source} ${v.value}`).join(', ')}`);

await filo.stop();
bareServer.close();
rmSync(dataDir, { recursive: true, force: true });
