/**
 * Inbound processing: how fast a worker node turns accepted mail into contacts, conversations, messages and
 * timeline entries. Each round loads `messages` accepted messages (spool files, rows and jobs, committed together as
 * the gateway's group commit would) into a warm, idle worker node (`ROLES=worker`, a second process; PostgreSQL
 * and Redis as in a deployment; warmed by an uncounted round of each shape first, as many messages, 1,000 at most: a
 * cold worker's first messages also pay for starting its reader threads, ~0.8 s of CPU each, and V8 compiling and
 * optimising its code (after 200, the first measured round still took ~20 % more CPU a message than the next two);
 * the database is analysed after it, as autovacuum soon does in any deployment) and times them from the
 * commit until none is left `received`, in two shapes:
 *   distinct  every message from another sender and domain, with its own subject: a new contact and conversation each;
 *   thread    every message from one customer, one subject, replies to the first: all into one conversation.
 * CPU per message counts the worker and PostgreSQL (postmaster and backends), read from /proc.
 * Baseline, same round, same files: mailparser's simpleParser reading each message once, in this process, one after
 * the other: the bare cost of reading the MIME, which processing must do at least once (and then authenticates,
 * classifies, cleans the HTML and writes ~10 rows in a transaction).
 * DNS: the worker asks a name server of the bench's on loopback (`DNS_SERVERS`), which publishes SPF (the loading
 * address) and DMARC (p=none) for every sender domain, as a deployment's own caching resolver would answer them
 * warm; `INBOUND_BENCH_DNS=system` asks the machine's resolver instead (the sandbox's drops bursts: ~50 names/s).
 *   node bench/inbound.ts [messages=2000] [rounds=3]   (INBOUND_BENCH_PROF=<dir>: --cpu-prof of the worker)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { cpuBetween, cpuSnapshot } from './smtp/cpu.ts';
import { spoolMessages, type Shape } from './inbound/messages.ts';
import { startInboundNode, type InboundNode } from './inbound/node.ts';
import { startDnsServer, type DnsServer } from '../test/support/dns-server.ts';

const MESSAGES = Number(process.argv[2] ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 3);
/** Messages of each shape processed before the measured rounds, not counted. */
const WARM_UP = 1000;
const STALL_MS = 60_000;

const dir = mkdtempSync(path.join(tmpdir(), 'filo-bench-inbound-'));
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0;
};

/** simpleParser over the files, one after the other: messages/s and CPU ms per message of this process. */
async function bareParse(files: string[]): Promise<{ rate: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const file of files) await simpleParser(readFileSync(file));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: files.length / seconds, cpuMs: (cpu.user + cpu.system) / 1000 / files.length };
}

interface Run {
  rate: number;
  cpuMs: number;
  done: number;
  line: string;
}

/** Loads the messages, then polls until none is `received` (or the backlog stops shrinking for STALL_MS). */
async function processRound(
  node: InboundNode,
  shape: Shape,
  round: string,
  /** null: a warm-up round, not compared. */
  bareRate: number | null,
  count = MESSAGES,
): Promise<Run> {
  const mails = await spoolMessages(node.spoolRoot, { shape, count, round, to: node.inboundAddress });
  let cpu0 = new Map<number, number>();
  let t0 = 0;
  const ids = await node.load(mails, () => {
    cpu0 = cpuSnapshot(node.pids());
    t0 = performance.now();
  });
  let left = count;
  let progressAt = Date.now();
  let statuses: Record<string, number> = {};
  while (left > 0 && Date.now() - progressAt < STALL_MS) {
    await new Promise((r) => setTimeout(r, 50));
    statuses = await node.statuses(ids);
    const now = statuses.received ?? 0;
    if (now < left) progressAt = Date.now();
    left = now;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuSnapshot(node.pids());
  const cpuMs = (cpuBetween(cpu0, cpu1) * 1000) / Math.max(1, count - left);
  const workerOnly = new Map([[node.workerPid(), cpu1.get(node.workerPid()) ?? 0]]);
  const workerMs = (cpuBetween(cpu0, workerOnly) * 1000) / Math.max(1, count - left);
  const done = count - left;
  const rate = done / seconds;
  const w = await node.written(ids);
  const line =
    `${shape.padEnd(9)} ${round.padStart(5)} ${`${fmt(done)}/${fmt(count)}`.padStart(12)} ${seconds.toFixed(1).padStart(8)} ` +
    `${fmt(rate).padStart(7)} ${cpuMs.toFixed(2).padStart(10)} ${(bareRate ? `${(rate / bareRate).toFixed(3)}x` : 'warm-up').padStart(10)}  ` +
    `(worker ${workerMs.toFixed(1)}) statuses ${JSON.stringify(statuses)}; written: ${fmt(w.messages)} messages, ${fmt(w.conversations)} conversations, ${fmt(w.activities)} email.received`;
  return { rate, cpuMs, done, line };
}

let node: InboundNode | undefined;
let dns: DnsServer | undefined;
process.once('SIGINT', () => {
  void (node?.stop() ?? Promise.resolve()).finally(() => {
    void dns?.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
});
try {
  console.log(
    `inbound processing: ${fmt(MESSAGES)} messages per run, ${ROUNDS} rounds of (bare parse, distinct, thread); node ${process.version}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log('starting PostgreSQL, Redis, a web node (migrations, demo seed, mailbox), then the worker node...');
  if (process.env.INBOUND_BENCH_DNS !== 'system')
    dns = await startDnsServer({
      // the bench's senders (bench/inbound/messages.ts) all load from 192.0.2.10 (bench/inbound/node.ts)
      txtOf: (name) =>
        !name.endsWith('.example')
          ? undefined
          : name.startsWith('_dmarc.')
            ? ['v=DMARC1; p=none']
            : ['v=spf1 ip4:192.0.2.0/24 -all'],
    });
  console.log(
    dns
      ? `DNS: the bench's name server at ${dns.address} (SPF and DMARC for every sender domain)`
      : "DNS: the machine's resolver (INBOUND_BENCH_DNS=system)",
  );
  node = await startInboundNode(dir, { cpuProfDir: process.env.INBOUND_BENCH_PROF, dnsServers: dns?.address });
  const results: Record<Shape | 'bare', { rate: number[]; cpu: number[] }> = {
    bare: { rate: [], cpu: [] },
    distinct: { rate: [], cpu: [] },
    thread: { rate: [], cpu: [] },
  };
  console.log(`\n${'shape'.padEnd(9)} round    processed  seconds  msgs/s  CPU ms/msg  / bare parse`);
  for (const shape of ['distinct', 'thread'] as const) {
    console.log((await processRound(node, shape, `${shape[0]}w`, null, Math.min(WARM_UP, MESSAGES))).line);
  }
  // Statistics on the tables the warm-up filled, as autovacuum gathers them within a minute of a deployment's first
  // mail: without them the first measured round ran on plans made for empty tables (a look-up by subject or by
  // sender read every row of the mailbox's conversations or of the workspace's contacts; bench/README.md, session 15).
  await node.analyze();
  for (let r = 1; r <= ROUNDS; r++) {
    const sample = await spoolMessages(node.spoolRoot, {
      shape: 'distinct',
      count: MESSAGES,
      round: `bare${r}`,
      to: node.inboundAddress,
    });
    const bare = await bareParse(sample.map((m) => m.file));
    results.bare.rate.push(bare.rate);
    results.bare.cpu.push(bare.cpuMs);
    console.log(
      `${'bare'.padEnd(9)} ${String(r).padStart(5)} ${fmt(MESSAGES).padStart(12)} ${(MESSAGES / bare.rate).toFixed(1).padStart(8)} ${fmt(bare.rate).padStart(7)} ${bare.cpuMs.toFixed(2).padStart(10)}`,
    );
    for (const shape of ['distinct', 'thread'] as const) {
      const run = await processRound(node, shape, `${shape[0]}${r}`, bare.rate);
      results[shape].rate.push(run.rate);
      results[shape].cpu.push(run.cpuMs);
      console.log(run.line);
    }
  }
  console.log('\nmedian per shape');
  for (const [shape, r] of Object.entries(results))
    console.log(
      `  ${shape.padEnd(9)} ${fmt(median(r.rate)).padStart(7)} msgs/s  ${median(r.cpu).toFixed(2)} CPU ms/msg` +
        (shape === 'bare'
          ? ' (this process, mailparser only)'
          : ` (worker and PostgreSQL); ${(median(r.rate) / median(results.bare.rate)).toFixed(3)}x bare parse`),
    );
  console.log(`  targets: distinct >= 300 msgs/s, thread >= 150 msgs/s; load average now ${loadavg()[0]!.toFixed(2)}`);
  if (dns) console.log(`  the worker asked the bench's name server ${fmt(dns.asked.length)} questions`);
  const problems = node.problems();
  if (problems.length) console.log(`\nthe worker logged (warn and above):\n${problems.join('\n')}`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await node?.stop().catch((err: Error) => console.error(err.message));
  await dns?.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
