import { spawn, type ChildProcess } from 'node:child_process';
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

/** Polls /healthz until it answers 200, the process dies, or `ms` pass. */
export async function waitHealthy(proc: FiloProcess, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`Filo exited with ${proc.child.exitCode}\n${proc.output()}`);
    const ok = await fetch(`${proc.baseUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no /healthz within ${ms} ms\n${proc.output()}`);
}
