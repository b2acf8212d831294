import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Every bench runs here in a smoke mode (a second, a handful of clients, a small data set) so that none can rot:
// each must still start, measure its baseline and Filo, and print the figures its README rows come from. No
// figure is asserted beyond "it was measured": speed is read from full runs, never from tests.
function bench(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd: new URL('..', import.meta.url).pathname, timeout: 240_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${args[0]} failed: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** The numbers of a bench line, e.g. `... 812 req/s p50 0.53 ms ...`. */
const rate = (out: string, label: RegExp) => {
  const line = out.split('\n').find((l) => label.test(l));
  expect(line, `a line matching ${label} in:\n${out}`).toBeDefined();
  return Number(/([\d,]+) req\/s/.exec(line!)?.[1]?.replace(/,/g, ''));
};

describe('benches in smoke mode', { timeout: 300_000 }, () => {
  it('http-session: bare Express, /healthz and /api/auth/me, with ratios and no errors', async () => {
    const out = await bench(['bench/http-session.bench.ts', '1', '2']);
    expect(rate(out, /^bare Express/)).toBeGreaterThan(0);
    expect(rate(out, /GET \/healthz/)).toBeGreaterThan(0);
    expect(rate(out, /GET \/api\/auth\/me/)).toBeGreaterThan(0);
    expect(out).toMatch(/auth\/me.*errors 0 .*x baseline/);
  });

  it('api: timeline, company list and search against the bare baseline, on a small workspace', async () => {
    const out = await bench(['bench/api.bench.ts', '1', '300']);
    expect(out).toMatch(/raw SQL timeline page\s+p50 [\d.]+ ms/);
    expect(out).toMatch(/raw SQL company list page\s+p50 [\d.]+ ms/);
    // The deep cursor and the same page by OFFSET, with the buffers each touched (the 10M-activity figures).
    expect(out).toMatch(/raw SQL timeline deep\s+p50 [\d.]+ ms\s+p95 [\d.]+ ms\s+[\d,]+ buffers/);
    expect(out).toMatch(/raw SQL same by OFFSET\s+p50 [\d.]+ ms\s+p95 [\d.]+ ms\s+[\d,]+ buffers/);
    // Every HTTP line measured something, and every answer was a 200 (a route that fails would still count req/s).
    for (const label of [/^timeline page/, /^timeline deep cursor/, /^company list/, /^search/]) {
      const line = out.split('\n').find((l) => label.test(l));
      expect(line, `a line matching ${label} in:\n${out}`).toMatch(/[1-9]\d* req\/s .* errors 0 /);
    }
  });

  it('hot-reads: the hot-read pool against the ORM path, per call latency and CPU, on a small workspace', async () => {
    const out = await bench(['bench/hot-reads.bench.ts', '300', '5', '1']);
    const lines = out.split('\n');
    for (const read of ['timeline page', 'company list', 'search']) {
      const at = lines.findIndex((l) => l.startsWith(read));
      expect(at, `${read} in:\n${out}`).toBeGreaterThanOrEqual(0);
      const [orm, hot, ratio] = lines.slice(at + 1, at + 4);
      expect(orm).toMatch(/^ {2}ORM .*CPU per call: Node [\d.]+ ms, PostgreSQL [\d.]+ ms/);
      expect(hot).toMatch(/^ {2}hot .*CPU per call: Node [\d.]+ ms, PostgreSQL [\d.]+ ms/);
      expect(ratio).toMatch(/hot \/ ORM: p50 [\d.]+x, CPU per call [\d.]+x/);
    }
    // Search's SQL, the previous filo_search beside the current one.
    const at = lines.findIndex((l) => l.startsWith('filo_search SQL'));
    expect(at, `filo_search SQL in:\n${out}`).toBeGreaterThanOrEqual(0);
    expect(lines[at + 1]).toMatch(/^ {2}prev .*CPU per call: Node [\d.]+ ms, PostgreSQL [\d.]+ ms/);
    expect(lines[at + 2]).toMatch(/^ {2}now .*CPU per call: Node [\d.]+ ms, PostgreSQL [\d.]+ ms/);
    expect(lines[at + 3]).toMatch(/now \/ prev: p50 [\d.]+x, CPU per call [\d.]+x/);
  });

  it('realtime: note to watchers, Filo against bare Socket.io, and memory per socket', async () => {
    const out = await bench(['bench/realtime.bench.ts', '20', '1']);
    expect(out).toMatch(/p99 ratio Filo \/ bare: [\d.]+x/);
    expect(out).toMatch(/memory per idle socket/);
    expect(out).not.toMatch(/note POSTs failed/);
  });

  it('smtp: smtp-source against bare smtp-server, Haraka and Filo, then processing and latency', async () => {
    const out = await bench(['bench/smtp.ts', '1', '1', '10', '2048', '5', '3']);
    expect(out).not.toMatch(/Filo: not measured/);
    expect(out).toMatch(/Filo \/ bare:\s+[\d.]+x/);
    expect(out).toMatch(/Filo \/ Haraka:\s+[\d.]+x/);
    // Processing works end to end: each message of the latency run reached the tenant feed as email.received.
    expect(out).toMatch(/accepted 5\/5, activity seen for 5\/5/);
  });

  it('campaign: a bare nodemailer pool against the bulk engine to the same sink, snapshot, merge and RSS', async () => {
    const out = await bench(['bench/campaign.ts', '300']);
    expect(out).toMatch(/bare nodemailer pool \(10 connections\): 300 in [\d.]+ s = [\d,]+ msgs\/s/);
    expect(out).toMatch(/snapshot \(enqueue\) of 300 recipients: [\d,]+ ms/);
    expect(out).toMatch(/merge per recipient: [\d.]+ µs/);
    // Every recipient reached the sink through the engine, once.
    expect(out).toMatch(/Filo bulk engine: 300 in [\d.]+ s = [\d,]+ msgs\/s = [\d.]+x bare; 300 at the sink/);
    expect(out).toMatch(/RSS during the send: [\d,]+ -> [\d,]+ MB/);
  });

  it('messaging: inbound SMS webhook -> socket, then a bulk at a set rate after STOPs: no duplicate, none to opted-out', async () => {
    const out = await bench(['bench/messaging.ts', '10', '100', '50', '5']);
    expect(out).toMatch(/inbound webhook -> socket \(10 SMS, one at a time\): p50 [\d.]+ ms, p99 [\d.]+ ms/);
    // 100 contacts, 5 of them stopped by an inbound STOP: 95 reach the fake, each once
    expect(out).toMatch(/bulk of 100 at 50\/s: 95 at the fake in [\d.]+ s; achieved [\d.]+\/s/);
    expect(out).toMatch(/bulk correctness: 0 duplicates, 0 sends to opted-out numbers \(5 stopped\)/);
  });

  it('sequences: 500 enrolments on 5 steps swept by the scheduler, replies stopped meanwhile', async () => {
    const out = await bench(['bench/sequences.ts', '500', '20']);
    expect(out).toMatch(/setup: 500 enrolments on 5 steps, 5 mailboxes/);
    // every due step was evaluated (none left due), and each reply stopped its prospect
    expect(out).toMatch(/scheduler: [\d,]+ due steps evaluated in \d+ ticks, [\d.]+ s = [\d,]+ per minute/);
    expect(out).toMatch(/after the sweep: .*sends queued; 0 still due/);
    expect(out).toMatch(/cost per due step: [\d.]+ ms wall, [\d.]+ ms CPU of Node/);
    expect(out).toMatch(
      /reply -> stopped during the sweep: 20 replies, p50 [\d.]+ ms, p95 [\d.]+ ms, .*stopped 20\/20/,
    );
  });

  it('imap: bare imapflow against the sync of 100 messages by Filo, resync, APPEND latency and idle accounts', async () => {
    const out = await bench(['bench/imap.ts', '100', '3', '2']);
    expect(out).toMatch(/bare imapflow FETCH of the headers: 100 in [\d,]+ ms = [\d,]+ headers\/s/);
    expect(out).toMatch(/Filo initial sync, rows \+ jobs written: 100 in [\d,]+ ms = [\d,]+ msg\/s = [\d.]+x bare/);
    expect(out).toMatch(/Filo initial sync, until processed: 100 in [\d,]+ ms/);
    // The flags came by resync onto the same rows (none added), and every APPEND reached the socket.
    expect(out).toMatch(/resync of \d+ flag changes by another client: all rows updated [\d,]+ ms .*none added/);
    expect(out).toMatch(/APPEND -> email\.received on a socket .*\(seen 3\/3\)/);
    expect(out).toMatch(/RSS per idle connected account \(2 accounts\): -?[\d,]+ KB/);
    expect(out).toMatch(/IMAP connections per account \(doveadm who\): idle accounts: max \d/);
  });

  it('inbound: a worker processes accepted mail in both shapes, against a bare mailparser loop', async () => {
    const out = await bench(['bench/inbound.ts', '30', '1']);
    expect(out).toMatch(/^bare\s+1\s+30\s+[\d.]+\s+[\d,]+\s+[\d.]+$/m);
    // Every message of each shape was processed (none left received or failed) and measured.
    expect(out).toMatch(
      /^distinct\s+d1\s+30\/30\s+[\d.]+\s+[\d,]+\s+[\d.]+\s+[\d.]+x .*"processed":30\}; written: 30 messages, 30 conversations, 30 email.received/m,
    );
    expect(out).toMatch(
      /^thread\s+t1\s+30\/30\s+[\d.]+\s+[\d,]+\s+[\d.]+\s+[\d.]+x .*"processed":30\}; written: 30 messages, 1 conversations, 30 email.received/m,
    );
    // its SPF and DMARC were asked of the bench's own name server (DNS_SERVERS), not the machine's
    expect(out).toMatch(/the worker asked the bench's name server [1-9][\d,]* questions/);
  });
});
