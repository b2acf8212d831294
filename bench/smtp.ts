/**
 * Inbound SMTP throughput: Postfix's smtp-source with 200 concurrent sessions (one new connection per message)
 * sending 10 KB messages, against three targets in alternating rounds (A B C A B C ...) of the same run:
 *   bare    a bare smtp-server that accepts every recipient and discards the message;
 *   haraka  Haraka, one process, `rcpt_to.in_host_list` + `queue/discard` (keeps nothing either);
 *   haraka-et  the same Haraka with an early-talker pause of 100 ms before its banner (bench/smtp/haraka.ts), like
 *           smtp-server's (the bare server's and Filo's default SMTP_GREETING_DELAY_MS): the like-for-like one;
 *   filo    Filo's gateway, which answers 250 only once the message is spooled and has its PostgreSQL row.
 * Figures: accepted messages/s per round (smtp-source's DATA counter / its wall time), the median per target,
 * Filo / bare (target >= 0.6x) and Filo / Haraka (target >= 1.0x, beside Filo / Haraka with the pause); for Filo also the rows really written. Filo's
 * gateway runs without a worker during the rounds (processing is asynchronous: the 250 is durable already);
 * then a worker process works through the backlog for processSeconds (processing msgs/s and CPU per message),
 * the rest is dropped, and the time from each message's 250 to its `email.received` activity on the tenant
 * feed (p50 / p99) is measured with nodemailer at one message per 20 ms.
 *   node bench/smtp.ts [rounds=3] [seconds=10] [sessions=200] [bytes=10240] [latencyMessages=200] [processSeconds=30]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../db/embedded.ts';
import { startHaraka, type Haraka } from './smtp/haraka.ts';
import { measureLatency, startFiloTarget, type FiloTarget } from './smtp/filo.ts';
import { cpuBetween, cpuSnapshot, machineCpu } from './smtp/cpu.ts';
import { smtpSource, smtpSourceMissing, waitForGreeting, type SourceRun } from './smtp/source.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 10);
const SESSIONS = Number(process.argv[4] ?? 200);
const BYTES = Number(process.argv[5] ?? 10240);
const LATENCY_MESSAGES = Number(process.argv[6] ?? 200);
const PROCESS_SECONDS = Number(process.argv[7] ?? 30);
const DOMAIN = 'bench.test';
/** smtp-server's wait before its greeting, which the bare server and Filo (by default) keep. */
const EARLY_TALKER_MS = 100;

const missing = smtpSourceMissing();
if (missing) {
  console.error(missing);
  process.exit(1);
}

const dir = mkdtempSync(path.join(tmpdir(), 'filo-bench-smtp-'));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0;
};
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const fmt = (n: number) => Math.round(n).toLocaleString('en');

interface Target {
  key: 'bare' | 'haraka' | 'haraka-et' | 'filo';
  name: string;
  port: number;
  to: string;
  /** Messages per round, from the warm-up, for about SECONDS per round. */
  messages: number;
  rates: number[];
  /** CPU ms per accepted message of the target's processes during each round. */
  cpu: number[];
  /** The target's processes (for Filo also PostgreSQL's). */
  pids: () => number[];
  /** After each run: what the target really kept, and waiting for its background work. */
  after?: (run: SourceRun, before: number) => Promise<string>;
  before?: () => Promise<number>;
}

function startBare(): Promise<{ proc: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['bench/smtp/bare-smtp.ts', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening (\d+)/);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.once('exit', (code) => reject(new Error(`bare smtp-server exited ${code}: ${out}`)));
  });
}

const stops: (() => Promise<void>)[] = [];
const stopAll = async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch((err: Error) => console.error(err.message));
  rmSync(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  console.log(
    `smtp-source: ${SESSIONS} sessions, one message per connection, ${fmt(BYTES)} bytes of payload, ~${SECONDS} s per round, ${ROUNDS} rounds per target; node ${process.version}`,
  );

  const bare = await startBare();
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        if (bare.proc.exitCode !== null) return resolve();
        bare.proc.once('exit', () => resolve());
        bare.proc.kill('SIGTERM');
      }),
  );
  await waitForGreeting(bare.port);

  const haraka: Haraka = await startHaraka(path.join(dir, 'haraka'), await freePort(), DOMAIN);
  stops.push(() => haraka.stop());
  const harakaEt: Haraka = await startHaraka(path.join(dir, 'haraka-et'), await freePort(), DOMAIN, {
    earlyTalkerMs: EARLY_TALKER_MS,
  });
  stops.push(() => harakaEt.stop());

  let filo: FiloTarget | undefined;
  try {
    console.log('starting Filo (embedded PostgreSQL, migrations, demo seed)...');
    filo = await startFiloTarget(path.join(dir, 'filo'));
    stops.push(() => filo!.stop());
  } catch (err) {
    console.log(`Filo: could not start: ${(err as Error).message}`);
  }
  if (filo && !filo.mailbox) console.log('Filo: inbound mailboxes not available yet (POST /api/inbox/mailboxes: 404)');

  const target = (t: Omit<Target, 'messages' | 'rates' | 'cpu'>): Target => ({ ...t, messages: 0, rates: [], cpu: [] });
  const targets: Target[] = [
    target({
      key: 'bare',
      name: 'bare smtp-server',
      port: bare.port,
      to: `inbox@${DOMAIN}`,
      pids: () => [bare.proc.pid!],
    }),
    target({
      key: 'haraka',
      name: 'Haraka (discard)',
      port: haraka.port,
      to: `inbox@${DOMAIN}`,
      pids: () => [haraka.proc.pid!],
    }),
    target({
      key: 'haraka-et',
      name: `Haraka ${EARLY_TALKER_MS} ms pause`,
      port: harakaEt.port,
      to: `inbox@${DOMAIN}`,
      pids: () => [harakaEt.proc.pid!],
    }),
  ];
  if (filo?.mailbox) {
    const f = filo;
    targets.push(
      target({
        key: 'filo',
        name: 'Filo (durable)',
        port: f.smtpPort,
        to: f.mailbox!.inboundAddress,
        pids: () => f.pids(),
        before: () => f.accepted().catch(() => 0),
        async after(run, before) {
          const rows = await f.accepted().then(
            (n) => n - before,
            (err: Error) => err.message,
          );
          if (typeof rows === 'string') return `rows not counted: ${rows}`;
          return `rows ${fmt(rows)}/${fmt(run.completed)}${rows === run.completed ? '' : ' (MISMATCH)'}`;
        },
      }),
    );
  }

  const runOnce = async (t: Target, messages: number) => {
    const before = t.before ? await t.before() : 0;
    const cpu0 = cpuSnapshot(t.pids());
    const machine0 = machineCpu();
    const run = await smtpSource({ port: t.port, to: t.to, messages, sessions: SESSIONS, size: BYTES });
    const machine1 = machineCpu();
    const cpu = (cpuBetween(cpu0, cpuSnapshot(t.pids())) * 1000) / Math.max(1, run.completed);
    const sourceCpu = (run.sourceCpu * 1000) / Math.max(1, run.completed);
    const busy = (100 * (machine1.busy - machine0.busy)) / Math.max(0.01, machine1.total - machine0.total);
    const note = t.after ? await t.after(run, before) : '';
    const failed = run.code !== 0 || run.completed !== messages;
    const figures = `${fmt(run.rate).padStart(9)} ${cpu.toFixed(2).padStart(11)} ${sourceCpu.toFixed(2).padStart(13)} ${busy.toFixed(0).padStart(8)} %`;
    return { run, cpu, figures, note, failed };
  };

  const row = (t: Target, round: string, r: Awaited<ReturnType<typeof runOnce>>) =>
    console.log(
      `${t.name.padEnd(20)} ${round.padStart(5)} ${`${fmt(r.run.completed)}/${fmt(r.run.messages)}`.padStart(13)} ${r.run.seconds.toFixed(1).padStart(8)} ${r.figures}${r.note ? `  ${r.note}` : ''}` +
        (r.failed ? `\n  smtp-source exit ${r.run.code}: ${r.run.stderr || '(no message)'}` : ''),
    );
  console.log(
    `\n${'target'.padEnd(20)} round      messages  seconds    msgs/s  CPU ms/msg  source ms/msg  machine busy`,
  );
  // Warm-up (w1, w2), twice per target: JIT and pools, then the message count for rounds of about SECONDS.
  for (const t of [...targets]) {
    for (const [i, messages] of [SESSIONS * 5, SESSIONS * 10].entries()) {
      const r = await runOnce(t, messages);
      row(t, `w${i + 1}`, r);
      if (r.failed) {
        console.log(`  ${t.name}: dropped`);
        targets.splice(targets.indexOf(t), 1);
        break;
      }
      t.messages = Math.max(SESSIONS * 5, Math.round((r.run.rate * SECONDS) / 100) * 100);
    }
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      const r = await runOnce(t, t.messages);
      t.rates.push(r.run.rate);
      t.cpu.push(r.cpu);
      row(t, String(round), r);
    }
  }

  console.log('\nmedian per target');
  for (const t of targets) {
    console.log(
      `  ${t.name.padEnd(20)} ${fmt(median(t.rates)).padStart(6)} msgs/s  ${median(t.cpu).toFixed(2)} CPU ms/msg (its own processes${t.key === 'filo' ? ' and PostgreSQL' : ''}, during the rounds)`,
    );
  }
  const bareT = targets.find((t) => t.key === 'bare');
  const harakaT = targets.find((t) => t.key === 'haraka');
  const harakaEtT = targets.find((t) => t.key === 'haraka-et');
  const filoT = targets.find((t) => t.key === 'filo');
  if (bareT && harakaT) {
    console.log(`  Haraka / bare: ${(median(harakaT.rates) / median(bareT.rates)).toFixed(2)}x`);
  }
  if (filoT && bareT && harakaT) {
    const m = median(filoT.rates);
    console.log(`  Filo / bare:   ${(m / median(bareT.rates)).toFixed(2)}x (target >= 0.6x)`);
    console.log(`  Filo / Haraka: ${(m / median(harakaT.rates)).toFixed(2)}x (target >= 1.0x)`);
    if (harakaEtT)
      console.log(
        `  Filo / Haraka with the ${EARLY_TALKER_MS} ms pause: ${(m / median(harakaEtT.rates)).toFixed(2)}x (like for like: both pause)`,
      );
  } else {
    console.log('  Filo: not measured (see above)');
  }

  if (filo?.mailbox && filoT) {
    // Processing: the worker process works through the backlog the rounds left for PROCESS_SECONDS.
    const backlog = await filo.pending();
    const cpu0 = cpuSnapshot(filo.pids());
    const started = performance.now();
    await filo.startWorker();
    const deadline = Date.now() + PROCESS_SECONDS * 1000;
    let left = backlog;
    while (Date.now() < deadline && left > 0) {
      await new Promise((r) => setTimeout(r, 500));
      left = await filo.pending();
    }
    const seconds = (performance.now() - started) / 1000;
    const done = backlog - left;
    const cpu = (cpuBetween(cpu0, cpuSnapshot(filo.pids())) * 1000) / Math.max(1, done);
    console.log(
      `\nFilo processing (worker process, from a cold start): ${fmt(done)} of ${fmt(backlog)} accepted messages in ${seconds.toFixed(1)} s = ${fmt(done / seconds)} msgs/s, ${cpu.toFixed(2)} CPU ms/msg (worker and PostgreSQL)`,
    );
    console.log(`  rows by status: ${JSON.stringify(await filo.byStatus())}`);
    if (left > 0) console.log(`  ${fmt(await filo.dropBacklog())} unprocessed messages dropped before the latency run`);
    const interval = 20;
    console.log(
      `\nFilo: 250 -> email.received on the tenant feed, ${LATENCY_MESSAGES} messages, one per ${interval} ms (nodemailer, pooled)`,
    );
    const lat = await measureLatency(filo, {
      count: LATENCY_MESSAGES,
      intervalMs: interval,
      size: BYTES,
      waitMs: 60_000,
    });
    const d = lat.delays;
    console.log(
      `  accepted ${lat.accepted}/${lat.sent}, activity seen for ${lat.seen}/${lat.accepted}` +
        (d.length
          ? `  p50 ${quantile(d, 0.5).toFixed(1)} ms  p99 ${quantile(d, 0.99).toFixed(1)} ms  max ${d.at(-1)!.toFixed(1)} ms`
          : '  (no email.received activity arrived: processing or its activity not available yet)'),
    );
    if (lat.errors.length) console.log(`  send errors: ${lat.errors.slice(0, 3).join('; ')}`);
  }
  if (filo) {
    const problems = filo.problems();
    if (problems.length) console.log(`\nFilo logged (warn and above, LOG_LEVEL=warn):\n${problems.join('\n')}`);
  }
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await stopAll();
}
process.exit(process.exitCode ?? 0);
