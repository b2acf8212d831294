import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestLog } from '../server/http/request-log.ts';

/** Real requests through the access log into an in-memory log, one JSON line each. */
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});
const log = pino({ level: 'info' }, sink);
let server: Server;
let base: string;
let childrenMade = 0;
/** Requests whose 'finish' has been seen after the access log's own listener (registered first). */
const finished = new Set<string>();

beforeAll(async () => {
  const counted = Object.create(log) as typeof log;
  const child = log.child.bind(log);
  counted.child = ((...args: Parameters<typeof child>) => {
    childrenMade++;
    return child(...args);
  }) as typeof log.child;
  const app = express();
  requestLog(app, counted, { ignore: (req) => req.url === '/healthz' });
  app.use((req, res, next) => {
    res.on('finish', () => finished.add(req.id!));
    next();
  });
  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  app.get('/u/:token', (_req, res) => void res.json({ ok: true }));
  app.get('/boom', (req, res) => {
    req.log?.error({ detail: 'from the handler' }, 'handler failed');
    res.status(500).json({ error: 'internal' });
  });
  app.get('/hang', (_req, res) => void res.write('partial'));
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const until = async (pred: () => boolean) => {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setImmediate(r));
  expect(pred()).toBe(true);
};
const lineFor = (id: string, msg: string) =>
  lines.find((l) => (l.req as { id?: string } | undefined)?.id === id && l.msg === msg);

describe('the access log', () => {
  it('writes one line per request, with its id, status and a URL whose tokens are redacted', async () => {
    const res = await fetch(`${base}/u/${'t'.repeat(40)}?token=secret-value&page=2`, {
      headers: { 'x-request-id': 'trace-1' },
    });
    expect(res.headers.get('x-request-id')).toBe('trace-1');
    await until(() => !!lineFor('trace-1', 'request completed'));
    const line = lineFor('trace-1', 'request completed')!;
    expect(line).toMatchObject({ level: 30, req: { method: 'GET' }, res: { statusCode: 200 } });
    expect((line.req as { url: string }).url).toBe('/u/[redacted]?token=[redacted]&page=2');
    expect(JSON.stringify(lines)).not.toContain('secret-value');
    expect(typeof line.responseTime).toBe('number');
  });

  it('logs a 5xx at error, and what the handler logged carries the request', async () => {
    const res = await fetch(`${base}/boom`);
    const id = res.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => !!lineFor(id, 'request errored'));
    expect(lineFor(id, 'request errored')).toMatchObject({ level: 50, res: { statusCode: 500 } });
    expect(lineFor(id, 'handler failed')).toMatchObject({ level: 50, detail: 'from the handler' });
  });

  it('says when the client went away before the answer', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/hang`, { signal: controller.signal, headers: { 'x-request-id': 'gone-1' } });
    controller.abort();
    await res.body?.cancel().catch(() => undefined);
    await until(() => !!lineFor('gone-1', 'request aborted'));
  });

  it('leaves ignored paths out, and makes no request logger when nothing is logged', async () => {
    const before = lines.length;
    await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'health-1' } });
    await fetch(`${base}/u/x`, { headers: { 'x-request-id': 'after-health' } });
    await until(() => !!lineFor('after-health', 'request completed'));
    expect(lines.slice(before).some((l) => (l.req as { id?: string }).id === 'health-1')).toBe(false);

    const made = childrenMade;
    log.level = 'warn';
    try {
      const res = await fetch(`${base}/u/quiet`, { headers: { 'x-request-id': 'quiet-1' } });
      expect(res.status).toBe(200);
      await until(() => finished.has('quiet-1'));
      expect(childrenMade).toBe(made);
    } finally {
      log.level = 'info';
    }
  });
});
