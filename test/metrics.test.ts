import { readFileSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import nodemailer from 'nodemailer';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialLimiter } from '../server/auth/credential-limiter.ts';
import { errorHandler } from '../server/http/errors.ts';
import { FiloMetrics } from '../server/ops/metrics/metrics.ts';
import { metricsEndpoint } from '../server/ops/metrics/metrics.http.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { LiveClient } from './support/live.ts';

const TOKEN = 'metrics-token-for-the-test-0123456789';
const PROBE_QUEUE = 'metrics.probe';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format's samples (comments skipped; label values unescaped). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of a series' samples whose labels include `labels`. */
const total = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

let filo: TestFilo;
let demo: ApiClient;
let support: { id: string; inboundAddress: string };

beforeAll(async () => {
  filo = await startTestFilo({ METRICS_TOKEN: TOKEN, METRICS_PORT: '0' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  // Two jobs in a queue no worker takes: its depth and oldest age are there at the first reading.
  await filo.jobs!.boss.createQueue(PROBE_QUEUE);
  await filo.jobs!.boss.send(PROBE_QUEUE, { n: 1 });
  await filo.jobs!.boss.send(PROBE_QUEUE, { n: 2 });
});
afterAll(() => filo?.close());

const scrape = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
};
const scrapeWithToken = () => scrape(`${filo.baseUrl}/metrics`, { authorization: `Bearer ${TOKEN}` });

async function deliver(to: string, subject: string): Promise<number> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, secure: false });
  try {
    const info = await transport.sendMail({ from: 'Ada <ada@example.com>', to, subject, text: 'Hello' });
    return Number(info.response.slice(0, 3));
  } catch (err) {
    return (err as { responseCode?: number }).responseCode ?? 0;
  } finally {
    transport.close();
  }
}

describe('/metrics', () => {
  it('after HTTP calls, a socket, SMTP deliveries and jobs, every series has moved', async () => {
    const before = await scrape(`${filo.baseUrl.replace(/:\d+$/, `:${filo.metricsPort}`)}/metrics`);

    // HTTP: a route with an id, found and not found.
    const contact = await demo.json('POST', '/api/crm/contacts', { firstName: 'Ada', lastName: 'Lovelace' });
    await demo.json('GET', `/api/crm/contacts/${contact.id}`);
    expect((await demo.call('GET', `/api/crm/contacts/${crypto.randomUUID()}`)).status).toBe(404);
    // A socket of the demo owner.
    const live = new LiveClient(filo.baseUrl, { cookie: demo.cookie });
    await live.ready();
    // SMTP: one accepted (processed by the inbound job), one refused with 550.
    expect(await deliver(support.inboundAddress, 'Metrics probe')).toBe(250);
    expect(await deliver('nobody@demo.inbound.localhost', 'Nobody')).toBe(550);
    let conversationId = '';
    await expect
      .poll(
        async () => {
          const page = await demo.json('GET', '/api/inbox/conversations?limit=100');
          conversationId = page.items.find((c: { subject: string }) => c.subject === 'Metrics probe')?.id ?? '';
          return conversationId;
        },
        { timeout: 20_000, interval: 200 },
      )
      .not.toBe('');
    // A 1:1 reply: the outbound send job.
    const reply = await demo.json('POST', `/api/inbox/conversations/${conversationId}/replies`, { body: 'Hi' }, 202);
    await expect
      .poll(async () => (await demo.json('GET', `/api/inbox/conversations/${conversationId}`)).messages, {
        timeout: 20_000,
        interval: 200,
      })
      .toContainEqual(expect.objectContaining({ id: reply.id, status: 'sent' }));

    const after = await scrapeWithToken();
    const moved = (name: string, labels: Record<string, string> = {}) =>
      total(after, name, labels) - total(before, name, labels);

    // HTTP durations by route pattern and status class.
    const pattern = '/api/crm/contacts/:id';
    expect(moved('filo_http_request_duration_seconds_count', { route: pattern, status_class: '2xx' })).toBe(1);
    expect(moved('filo_http_request_duration_seconds_count', { route: pattern, status_class: '4xx' })).toBe(1);
    expect(moved('filo_http_request_duration_seconds_count', { route: '/api/crm/contacts', method: 'POST' })).toBe(1);
    // No label anywhere carries an id, an address or a raw URL.
    for (const s of after)
      for (const value of Object.values(s.labels)) {
        expect(value).not.toMatch(UUID);
        expect(value).not.toMatch(/@/);
      }
    const routes = new Set(after.flatMap((s) => (s.labels.route ? [s.labels.route] : [])));
    expect(routes).toContain(pattern);
    expect([...routes].filter((r) => r.includes(contact.id))).toEqual([]);

    // Sockets: this node's connection and its rooms (the workspace's and the user's).
    expect(total(after, 'filo_socketio_connections')).toBeGreaterThanOrEqual(1);
    expect(total(after, 'filo_socketio_rooms')).toBeGreaterThanOrEqual(2);
    // Events published, by type.
    expect(moved('filo_events_published_total', { type: 'activity' })).toBeGreaterThanOrEqual(1);
    expect(moved('filo_events_published_total', { type: 'conversation' })).toBeGreaterThanOrEqual(1);
    // SMTP.
    expect(moved('filo_smtp_sessions_total')).toBe(2);
    expect(moved('filo_smtp_messages_accepted_total')).toBe(1);
    expect(moved('filo_smtp_refused_total', { code: '550' })).toBe(1);
    // Inbound lag: one message processed.
    expect(moved('filo_inbound_processing_lag_seconds_count')).toBe(1);
    expect(total(after, 'filo_inbound_processing_lag_seconds_sum')).toBeGreaterThan(0);
    // Outbound 1:1 sends by result.
    expect(moved('filo_outbound_sends_total', { channel: 'direct', result: 'sent' })).toBe(1);
    // Job queues: the probe's two waiting jobs; every queue of Filo is listed.
    expect(total(after, 'filo_job_queue_depth', { queue: PROBE_QUEUE })).toBe(2);
    expect(total(after, 'filo_job_queue_oldest_age_seconds', { queue: PROBE_QUEUE })).toBeGreaterThan(0);
    expect(after.some((s) => s.name === 'filo_job_queue_depth' && s.labels.queue === 'inbound.process')).toBe(true);
    // The PostgreSQL pool, and the event loop's lag (prom-client's default metrics).
    expect(total(after, 'filo_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(after.some((s) => s.name === 'filo_db_pool_connections' && s.labels.state === 'waiting')).toBe(true);
    expect(after.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    live.socket.close();
  });

  it('the dashboard and the compose file parse, and every series the dashboard plots is served', async () => {
    const root = path.resolve(import.meta.dirname, '..');
    const dashboard = JSON.parse(readFileSync(path.join(root, 'deploy/grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    const served = new Set((await scrapeWithToken()).map((s) => s.name));
    for (const expr of exprs)
      for (const name of expr.match(/\b(filo|nodejs|process)_\w+/g) ?? []) expect(served, expr).toContain(name);
    const compose = parseYaml(readFileSync(path.join(root, 'deploy/docker-compose.metrics.yml'), 'utf8')) as {
      services: Record<string, { image?: string }>;
      configs?: Record<string, { content?: string }>;
    };
    expect(compose.services.prometheus?.image).toMatch(/^prom\/prometheus/);
    expect(compose.services.grafana?.image).toMatch(/^grafana\/grafana/);
    const prometheus = parseYaml(compose.configs!.prometheus!.content!) as {
      scrape_configs: { metrics_path?: string; authorization?: { credentials_file?: string } }[];
    };
    expect(prometheus.scrape_configs[0]).toMatchObject({ metrics_path: '/metrics' });
    expect(prometheus.scrape_configs[0]!.authorization?.credentials_file).toBeTruthy();
  });

  it('answers 404 while METRICS_TOKEN is unset, 401 to a missing or wrong token, then 429 to a guesser', async () => {
    const unset = express().get('/metrics', metricsEndpoint(new FiloMetrics(), undefined, new CredentialLimiter()));
    unset.use(errorHandler);
    const server = unset.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    server.close();

    expect((await fetch(`${filo.baseUrl}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${filo.baseUrl}/metrics`, { headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('filo_');
    // The limiter of credential checks: 100 failures from one address, then even the right token waits.
    for (let i = 0; i < 100; i++)
      await fetch(`${filo.baseUrl}/metrics`, { headers: { authorization: `Bearer guess-${i}` } });
    const limited = await fetch(`${filo.baseUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeTruthy();
  });
});
