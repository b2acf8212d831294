import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../db/embedded.ts';

export interface FiloProcess {
  child: ChildProcess;
  port: number;
  smtpPort: number;
  baseUrl: string;
  output(): string;
  /** Resolves with the exit code, or rejects if the process is still running after `ms`. */
  exited(ms: number): Promise<number | null>;
}

/**
 * Runs `node server/main.ts` as a newcomer would (after the web build), on free ports (or another entry script).
 * `tiedToWorker`: the process dies with this test worker, even when the worker is killed (test/support/filo-child.ts).
 */
export async function spawnFilo(
  env: Record<string, string>,
  script = 'server/main.ts',
  opts: { tiedToWorker?: boolean } = {},
): Promise<FiloProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  const smtpPort = Number(env.SMTP_PORT ?? (await freePort()));
  const entry = opts.tiedToWorker ? 'test/support/filo-child.ts' : script;
  if (opts.tiedToWorker && script !== 'server/main.ts') throw new Error('tiedToWorker runs server/main.ts only');
  const child = spawn(process.execPath, [entry], {
    env: {
      ...process.env,
      DATABASE_URL: '',
      LOG_LEVEL: 'info',
      FILO_CHECK_RESPONSES: '1',
      // Node keeps the compiled code of Filo's modules on disk: the suite starts dozens of Filo processes, and each
      // start compiles the same sources (a fifth of a start's CPU).
      NODE_COMPILE_CACHE: path.join(tmpdir(), 'filo-test-compile-cache'),
      ...env,
      PORT: String(port),
      SMTP_PORT: String(smtpPort),
    },
    stdio: [opts.tiedToWorker ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    port,
    smtpPort,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    exited: (ms) =>
      Promise.race([
        exit,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`still running ${ms} ms later\n${output}`)), ms).unref(),
        ),
      ]),
  };
}

/**
 * Whether process `pid` holds a TCP socket listening on `port` (Linux: the listening sockets of /proc/net/tcp and
 * tcp6, matched by inode with the process's file descriptors). Where /proc has no such files: assumed.
 */
export function listensOn(pid: number, port: number): boolean {
  const tables = ['/proc/net/tcp', '/proc/net/tcp6'].filter((f) => existsSync(f));
  if (!tables.length) return true;
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const table of tables)
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address, state 0A (LISTEN), inode
      if (f.length > 9 && f[1]!.endsWith(hex) && f[3] === '0A') inodes.add(f[9]!);
    }
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
    } catch {
      return false;
    }
  });
}

/**
 * Polls /healthz until this process answers it with 200, the process dies, or `ms` pass. Its own answer: a port
 * found free can be taken by another Filo meanwhile, whose /healthz would answer while this one fails to listen.
 */
export async function waitHealthy(proc: FiloProcess, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`Filo exited with ${proc.child.exitCode}\n${proc.output()}`);
    const ok = await fetch(`${proc.baseUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && listensOn(proc.child.pid!, proc.port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no /healthz within ${ms} ms\n${proc.output()}`);
}
