/**
 * The second baseline for bench/smtp: Haraka (devDependency) as one process that accepts mail for one domain
 * (`rcpt_to.in_host_list`) and throws it away (`queue/discard`), with nothing else loaded.
 *
 * What it takes (each learnt the hard way):
 * - `haraka -i <dir>` first: Haraka has no built-in defaults for `connection.ini`; without it every connection
 *   crashes on "Cannot read properties of undefined (reading 'greeting')" and the client sees no greeting.
 * - `queue/discard` only discards when asked to (a note set by another plugin, or `YES_REALLY_DO_DISCARD` in the
 *   environment); otherwise it passes, no queue plugin takes the message, and DATA ends in `451`.
 * - `nodes=0`, not `nodes=1`: any number of nodes runs Node's cluster, a master plus that many forked workers;
 *   0 (or unset, which only warns) serves from the one process.
 * - `log.ini` level=warn, so that it does not write several lines per connection (Filo and the bare server log
 *   nothing per message either). The two TLS errors at start-up (no key, no certificate) are harmless.
 *
 * With `earlyTalkerMs`, a second configuration like smtp-server's (and Filo's default): each session waits that
 * long before its banner and a client that talked first is disconnected. That is the connect hook of Haraka's
 * `early_talker` plugin, here as a plugin of the configuration's own: the packaged one never pauses for the
 * bench's clients (it skips loopback and private addresses) and pauses again at DATA, which smtp-server does not.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitForGreeting } from './source.ts';

const HARAKA = path.resolve('node_modules/.bin/haraka');

export interface Haraka {
  proc: ChildProcess;
  port: number;
  log: () => string;
  stop(): Promise<void>;
}

/** haraka-plugin-early_talker's connect_init hook (3.x), for every client: the pause counts from the connection. */
const EARLY_TALKER = (pauseMs: number) => `exports.register = function () {
  this.register_hook('connect_init', 'early_talker');
};
exports.early_talker = function (next, connection) {
  setTimeout(() => {
    if (!connection.early_talker) return next();
    next(DENYDISCONNECT, 'You talk too soon');
  }, Math.max(0, ${pauseMs} - (Date.now() - connection.start_time)));
};
`;

export async function startHaraka(
  dir: string,
  port: number,
  domain: string,
  opts: { earlyTalkerMs?: number } = {},
): Promise<Haraka> {
  execFileSync(HARAKA, ['-i', dir], { stdio: 'ignore' });
  const config = (name: string, text: string) => writeFileSync(path.join(dir, 'config', name), text);
  const plugins = ['rcpt_to.in_host_list', 'queue/discard'];
  if (opts.earlyTalkerMs) {
    mkdirSync(path.join(dir, 'plugins'), { recursive: true });
    writeFileSync(path.join(dir, 'plugins', 'bench_early_talker.js'), EARLY_TALKER(opts.earlyTalkerMs));
    plugins.unshift('bench_early_talker');
  }
  config('plugins', `${plugins.join('\n')}\n`);
  config('host_list', `${domain}\n`);
  config('smtp.ini', `[main]\nlisten=127.0.0.1:${port}\nnodes=0\n`);
  config('log.ini', '[main]\nlevel=warn\n');
  const logFile = path.join(dir, 'haraka.log');
  const out = createWriteStream(logFile);
  const proc = spawn(HARAKA, ['-c', dir], {
    env: { ...process.env, YES_REALLY_DO_DISCARD: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.pipe(out);
  proc.stderr!.pipe(out);
  const log = () => readFileSync(logFile, 'utf8');
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await Promise.race([
    waitForGreeting(port),
    exited.then(() => Promise.reject(new Error(`Haraka exited at start-up:\n${log().slice(-2000)}`))),
  ]);
  return {
    proc,
    port,
    log,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
