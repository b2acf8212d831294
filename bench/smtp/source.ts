import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { cpuSnapshot } from './cpu.ts';

export const SMTP_SOURCE = '/usr/sbin/smtp-source';

export function smtpSourceMissing(): string | undefined {
  if (existsSync(SMTP_SOURCE)) return undefined;
  return `${SMTP_SOURCE} not found: it comes with Postfix. As root (Postfix is installed, not configured or started):
  apt-get update
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y postfix`;
}

export interface SourceRun {
  /** Messages smtp-source asked for (-m). */
  messages: number;
  /** DATA commands that completed (its -c counter): the messages the server answered 250 to. */
  completed: number;
  seconds: number;
  /** completed / seconds */
  rate: number;
  /** CPU seconds smtp-source itself used (sampled every 50 ms until it exits). */
  sourceCpu: number;
  code: number | null;
  stderr: string;
}

/**
 * One smtp-source run: `sessions` SMTP sessions in parallel, each a new connection for one message (-d off,
 * unless `reuse`), `size` bytes of payload after its headers. Wall time of the whole process.
 */
export function smtpSource(opts: {
  port: number;
  to: string;
  messages: number;
  sessions: number;
  size: number;
  reuse?: boolean;
}): Promise<SourceRun> {
  const args = [
    '-c',
    ...(opts.reuse ? ['-d'] : []),
    '-s',
    String(opts.sessions),
    '-l',
    String(opts.size),
    '-m',
    String(opts.messages),
    '-f',
    'sender@bench.test',
    '-t',
    opts.to,
    '-M',
    'source.bench.test',
    `127.0.0.1:${opts.port}`,
  ];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const proc = spawn(SMTP_SOURCE, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => {
      // The counter rewrites one line with \r; keep only the tail.
      stdout = (stdout + d.toString()).slice(-64);
    });
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let sourceCpu = 0;
    const sample = setInterval(() => (sourceCpu = cpuSnapshot([proc.pid!]).get(proc.pid!) ?? sourceCpu), 50);
    proc.once('error', (err) => {
      clearInterval(sample);
      reject(err);
    });
    proc.once('close', (code) => {
      clearInterval(sample);
      const seconds = (performance.now() - started) / 1000;
      const completed = Number(stdout.trim().split(/\s+/).at(-1) ?? 0) || 0;
      resolve({
        messages: opts.messages,
        completed,
        seconds,
        rate: completed / seconds,
        sourceCpu,
        code,
        stderr: stderr.trim(),
      });
    });
  });
}

/** Resolves once a server on `port` sends its 220 greeting, retrying until `ms` has passed. */
export async function waitForGreeting(port: number, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      const done = (value: boolean) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(3_000, () => done(false));
      socket.on('data', (d: Buffer) => {
        data += d.toString();
        if (/\r?\n/.test(data)) {
          socket.write('QUIT\r\n');
          done(data.startsWith('220'));
        }
      });
      socket.once('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no SMTP greeting on port ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
