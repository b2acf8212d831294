import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../server/delivery/mailer.ts';
import { redactUrl } from '../server/http/redact.ts';
import { SUBSCRIBE_LIMIT } from '../server/newsletters/public.routes.ts';
import type { BulkHandler } from '../server/delivery/bulk/types.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

/**
 * The public newsletter pages over real HTTP with no session: RFC 8058 one-click unsubscribe, the GET page that
 * changes nothing, the preference center, forged tokens, and the subscribe form with double opt-in (evidence,
 * expiry, single use), its honeypot and rate limit, and answers that never tell a known address from a new one.
 */

let filo: TestFilo;
let demo: ApiClient;
let tenantId: string;
let workspace: string;
const BROWSER = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
let ipSeq = 0;
/** A client address of its own (requests come through loopback, a trusted proxy), clear of other tests' limits. */
const nextIp = () => `198.51.100.${++ipSeq}`;

let sink: SmtpSink;
/** A bulk source of this test's own (no campaign code): one plain message per row, through a mailbox to the sink. */
let bulkMailbox: string | null = null;
const bulkHandler: BulkHandler = {
  source: 'bulk_message',
  async scope() {
    return {
      state: 'active',
      listIds: [],
      requireConfirmed: false,
      mailboxId: bulkMailbox,
      trackOpens: false,
      trackClicks: false,
    };
  },
  async compose(_tenantId, _sourceId, rows) {
    return new Map(
      rows.map((r) => [
        r.id,
        {
          from: { name: 'Ottica Riva', address: 'news@demo.inbound.localhost' },
          subject: 'Novità',
          html: '<p>Ciao</p>',
          text: 'Ciao',
        },
      ]),
    );
  },
};

beforeAll(async () => {
  sink = await startSmtpSink();
  // System mail (confirmation links) stays in the outbox; bulk mail goes through a mailbox's SMTP: the sink.
  filo = await startTestFilo({ SMTP_ALLOWED_HOSTS: '127.0.0.1', BULK_RETRY_DELAY: '1', BULK_RATE_PER_SECOND: '1000' });
  filo.services.bulk.register(bulkHandler);
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  const me = await demo.json('GET', '/api/auth/me');
  tenantId = me.workspace.id;
  workspace = me.workspace.name;
});
afterAll(async () => {
  await filo?.close();
  await sink?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sql = <T = any>(q: string, params: unknown[] = []): Promise<T[]> =>
  inTenant(filo.orm, systemActor(tenantId), async ({ em }) => (await em.execute(q, params)) as T[]);

async function createList(
  name: string,
  opts: { publicForm?: boolean; doubleOptIn?: boolean; consentText?: string | null } = {},
): Promise<string> {
  const id = randomUUID();
  await sql(
    `insert into mailing_lists (id, tenant_id, name, public_form, double_opt_in, consent_text) values (?, ?, ?, ?, ?, ?)`,
    [id, tenantId, name, opts.publicForm ?? false, opts.doubleOptIn ?? true, opts.consentText ?? null],
  );
  return id;
}

async function setConsent(
  address: string,
  listId: string | null,
  status: 'subscribed' | 'unsubscribed' | 'complained',
  contactId?: string,
  source: 'import' | 'erasure' = 'import',
) {
  await inTenant(filo.orm, systemActor(tenantId), (uow) =>
    filo.services.consent.set(uow, { channel: 'email', address, listId, status, source, contactId }),
  );
}

/** A campaign of `listIds` and its send row to `address`: the one-click token of that row. */
async function sendRow(listIds: string[], address: string, contactId: string | null = null) {
  const campaignId = randomUUID();
  const sendId = randomUUID();
  await sql(
    `insert into campaigns (id, tenant_id, name, list_ids, content) values (?, ?, 'Autunno', ?::jsonb, '{}'::jsonb)`,
    [campaignId, tenantId, JSON.stringify(listIds)],
  );
  await sql(
    `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, message_id, sent_at)
     values (?, ?, 'campaign', ?, ?, ?, 'sent', ?, now())`,
    [sendId, tenantId, campaignId, contactId, address, `<${sendId}@filo.test>`],
  );
  return { sendId, campaignId, token: filo.services.bulkTokens.sign({ sendId, kind: 'unsubscribe', index: 0 }) };
}

const statusOf = async (address: string, listId: string | null) =>
  (
    await sql<{ status: string; source: string; ip: string | null; user_agent: string | null }>(
      `select status, source, ip, user_agent from consents where address_hash = ? and list_id is not distinct from ?::uuid`,
      [filo.services.consent.hash('email', address), listId],
    )
  )[0];

/** What a sender's consent check says now for `address` and `listIds` (null: may send). */
const refusal = (address: string, listIds: string[], requireConfirmed = false) =>
  inTenant(filo.orm, systemActor(tenantId), ({ em }) =>
    filo.services.consent.refusal(em, 'email', address, listIds, { requireConfirmed }),
  );

const form = (fields: Record<string, string | string[]>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) p.append(k, one);
  return p.toString();
};

function post(path: string, body: string, ip = nextIp(), headers: Record<string, string> = {}) {
  return fetch(`${filo.baseUrl}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': ip,
      'user-agent': BROWSER,
      ...headers,
    },
    body,
  });
}
const get = (path: string, ip = nextIp(), headers: Record<string, string> = {}) =>
  fetch(`${filo.baseUrl}${path}`, {
    redirect: 'manual',
    headers: { 'x-forwarded-for': ip, 'user-agent': BROWSER, ...headers },
  });

async function mailsTo(address: string) {
  const out: { subject: string; text: string }[] = [];
  for (const { raw } of readOutbox(filo.services.mailer.outboxDir!)) {
    const m = await simpleParser(raw);
    const to = m.to && !Array.isArray(m.to) ? m.to.text : '';
    if (to.toLowerCase() === address.toLowerCase()) out.push({ subject: m.subject ?? '', text: m.text ?? '' });
  }
  return out;
}
const confirmToken = (text: string) => /\/s\/confirm\/([A-Za-z0-9_-]{64})/.exec(text)?.[1];

describe('one-click unsubscribe and the preference center', () => {
  it('POST unsubscribes with no cookie and answers 2xx without a redirect; a GET changes nothing; once and counted once', async () => {
    const news = await createList('Novità');
    const events = await createList('Eventi');
    const contact = await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Marta',
      lastName: 'Riva',
      email: 'marta@ottica-riva.test',
    });
    await setConsent('marta@ottica-riva.test', news, 'subscribed', contact.id);
    await setConsent('marta@ottica-riva.test', events, 'subscribed', contact.id);
    const { sendId, campaignId, token } = await sendRow([news], 'marta@ottica-riva.test', contact.id);

    // A link scanner (or the person) opening the page: a question and the lists, nothing changed.
    const page = await get(`/u/${token}`, nextIp(), { 'accept-language': 'it-IT,it;q=0.9,en;q=0.5' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Annullare l’iscrizione di marta@ottica-riva.test a “Novità”?');
    expect(html).toContain(workspace);
    expect(html).toContain('Eventi');
    expect((await statusOf('marta@ottica-riva.test', news))!.status).toBe('subscribed');

    const res = await post(`/u/${token}`, 'List-Unsubscribe=One-Click', '203.0.113.50', {
      'user-agent': 'Gmail one-click',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    const after = await statusOf('marta@ottica-riva.test', news);
    expect(after).toMatchObject({
      status: 'unsubscribed',
      source: 'one_click',
      ip: '203.0.113.50',
      user_agent: 'Gmail one-click',
    });
    // Only the mail's list: the other stays.
    expect((await statusOf('marta@ottica-riva.test', events))!.status).toBe('subscribed');
    expect(await refusal('marta@ottica-riva.test', [news])).toEqual({ status: 'unsubscribed', listId: news });
    expect(await refusal('marta@ottica-riva.test', [events])).toBeNull();
    const [row] = await sql(`select unsubscribed_at from bulk_sends where id = ?`, [sendId]);
    expect(row.unsubscribed_at).not.toBeNull();

    // A second click (mail clients retry) changes nothing and counts nothing.
    const eventsBefore = await sql(`select count(*)::int as n from consent_events`);
    expect((await post(`/u/${token}`, 'List-Unsubscribe=One-Click')).status).toBe(200);
    expect(await sql(`select count(*)::int as n from consent_events`)).toEqual(eventsBefore);
    const [stats] = await sql(`select unsubscribed from delivery_stats where source = 'campaign' and source_id = ?`, [
      campaignId,
    ]);
    expect(stats.unsubscribed).toBe(1);
    const [hour] = await sql(`select sum(unsubscribed)::int as n from delivery_stat_hours where source_id = ?`, [
      campaignId,
    ]);
    expect(hour.n).toBe(1);

    // The contact's timeline says so, once.
    const timeline = await demo.json('GET', `/api/crm/timeline?entityType=contact&entityId=${contact.id}`);
    const withdrawn = timeline.items.filter((a: { type: string }) => a.type === 'consent.withdrawn');
    expect(withdrawn).toHaveLength(1);
    expect(withdrawn[0].title).toContain('Novità');

    // A POST without the RFC 8058 body is refused and changes nothing.
    const other = await sendRow([events], 'marta@ottica-riva.test', contact.id);
    const bad = await post(`/u/${other.token}`, 'hello=1');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-error-code')).toBe('one_click_body');
    expect((await statusOf('marta@ottica-riva.test', events))!.status).toBe('subscribed');
    // RFC 8058's own example posts multipart/form-data.
    const third = await createList('Terza');
    await setConsent('marta@ottica-riva.test', third, 'subscribed', contact.id);
    const multi = await sendRow([third], 'marta@ottica-riva.test', contact.id);
    const fd = new FormData();
    fd.append('List-Unsubscribe', 'One-Click');
    const viaMultipart = await fetch(`${filo.baseUrl}/u/${multi.token}`, {
      method: 'POST',
      body: fd,
      redirect: 'manual',
    });
    expect(viaMultipart.status).toBe(200);
    expect((await statusOf('marta@ottica-riva.test', third))!.status).toBe('unsubscribed');
    const wrongPart = new FormData();
    wrongPart.append('List-Unsubscribe', 'Maybe');
    expect((await fetch(`${filo.baseUrl}/u/${other.token}`, { method: 'POST', body: wrongPart })).status).toBe(400);
    expect((await statusOf('marta@ottica-riva.test', events))!.status).toBe('subscribed');
    // The page's own button: the same unsubscribe, and the page says what happened.
    const button = await post(`/u/${other.token}`, form({ 'List-Unsubscribe': 'One-Click', from: 'page' }));
    expect(button.status).toBe(200);
    expect(await button.text()).toContain('marta@ottica-riva.test will no longer receive “Eventi”.');
    expect((await statusOf('marta@ottica-riva.test', events))!.status).toBe('unsubscribed');
  });

  it('answers the one-click POST quickly (p95 measured over 40 sends)', async () => {
    const list = await createList('Misura');
    // One campaign to 40 subscribers, set up in one transaction.
    const campaignId = randomUUID();
    const rows = Array.from({ length: 40 }, (_, i) => ({ sendId: randomUUID(), address: `misura${i}@example.test` }));
    await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
      await uow.em.execute(
        `insert into campaigns (id, tenant_id, name, list_ids, content) values (?, ?, 'Misura', ?::jsonb, '{}'::jsonb)`,
        [campaignId, tenantId, JSON.stringify([list])],
      );
      for (const r of rows) {
        await filo.services.consent.set(uow, {
          channel: 'email',
          address: r.address,
          listId: list,
          status: 'subscribed',
          source: 'import',
        });
        await uow.em.execute(
          `insert into bulk_sends (id, tenant_id, source, source_id, address, status, message_id) values (?, ?, 'campaign', ?, ?, 'sent', ?)`,
          [r.sendId, tenantId, campaignId, r.address, `<${r.sendId}@filo.test>`],
        );
      }
    });
    // Beside each POST, a bare GET /healthz of the same server: the machine's own latency at that moment.
    const times: number[] = [];
    const bare: number[] = [];
    let cpuMicros = 0;
    for (const { sendId } of rows) {
      const token = filo.services.bulkTokens.sign({ sendId, kind: 'unsubscribe', index: 0 });
      let started = performance.now();
      const cpu = process.cpuUsage();
      const res = await post(`/u/${token}`, 'List-Unsubscribe=One-Click', '192.0.2.200');
      await res.arrayBuffer();
      times.push(performance.now() - started);
      const used = process.cpuUsage(cpu);
      cpuMicros += used.user + used.system;
      expect(res.status).toBe(200);
      started = performance.now();
      await (await fetch(`${filo.baseUrl}/healthz`)).arrayBuffer();
      bare.push(performance.now() - started);
    }
    const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.ceil((p / 100) * xs.length) - 1]!;
    console.warn(
      `one-click POST over HTTP (40 sends): p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms;` +
        ` bare GET /healthz p50 ${pct(bare, 50).toFixed(1)} ms, p95 ${pct(bare, 95).toFixed(1)} ms;` +
        ` Node CPU (server and client) ${(cpuMicros / rows.length / 1000).toFixed(1)} ms per POST`,
    );
    const [n] = await sql(`select count(*)::int as n from consents where list_id = ? and status = 'unsubscribed'`, [
      list,
    ]);
    expect(n.n).toBe(40);
  });

  it('the List-Unsubscribe URL of a mail the bulk engine sent works with one click; the next send to that address is refused', async () => {
    const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'News', localPart: 'news' });
    await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
      smtp: { host: '127.0.0.1', port: sink.port, secure: false },
    });
    bulkMailbox = box.id;
    const launch = (sourceId: string) =>
      inTenant(filo.orm, systemActor(tenantId), async (uow) => {
        await filo.services.bulk.enqueue(uow, {
          source: 'bulk_message',
          sourceId,
          select: { sql: `select null::uuid as contact_id, 'lettore@rcpt.test'::text as address`, params: [] },
        });
        await filo.services.bulk.start(uow, 'bulk_message', sourceId);
      });
    const first = randomUUID();
    await launch(first);
    await expect
      .poll(() => sink.messages.filter((m) => m.to[0] === 'lettore@rcpt.test').length, { timeout: 30_000 })
      .toBe(1);
    const head = sink.messages[0]!.raw.split(/\r?\n\r?\n/, 1)[0]!.replace(/\r?\n[ \t]+/g, ' ');
    expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    const url = /^List-Unsubscribe: <(https?:[^>]+)>/m.exec(head)![1]!;

    // What a mail client does: POST the URL with the RFC 8058 body, no cookie.
    const res = await post(new URL(url).pathname, 'List-Unsubscribe=One-Click');
    expect(res.status).toBe(200);
    expect(await statusOf('lettore@rcpt.test', null)).toMatchObject({ status: 'unsubscribed', source: 'one_click' });
    // The engine marks the row sent on its own schedule (after the sink's answer): wait for that, then compare.
    const stats = async () =>
      (
        await sql(`select unsubscribed, sent from delivery_stats where source = 'bulk_message' and source_id = ?`, [
          first,
        ])
      )[0];
    await expect.poll(stats, { timeout: 30_000 }).toEqual({ unsubscribed: 1, sent: 1 });

    const second = randomUUID();
    await launch(second);
    await expect
      .poll(async () => (await sql(`select status from bulk_sends where source_id = ?`, [second]))[0]?.status, {
        timeout: 30_000,
      })
      .toBe('suppressed');
    expect(sink.messages.filter((m) => m.to[0] === 'lettore@rcpt.test')).toHaveLength(1);
  });

  it('the preference center turns each list on or off, and everything off and on again', async () => {
    const a = await createList('Alfa');
    const b = await createList('Beta');
    const c = await createList('Gamma');
    const address = 'luca@example.test';
    await setConsent(address, a, 'subscribed');
    await setConsent(address, b, 'subscribed');
    await setConsent(address, c, 'unsubscribed');
    const { token } = await sendRow([a], address);
    const html = await (await get(`/u/${token}`)).text();
    for (const name of ['Alfa', 'Beta', 'Gamma']) expect(html).toContain(name);

    const saved = await post(`/u/${token}/preferences`, form({ list: [b, c] }));
    expect(saved.status).toBe(200);
    expect(await saved.text()).toContain('Preferences saved');
    expect(await statusOf(address, a)).toMatchObject({ status: 'unsubscribed', source: 'preference_center' });
    expect((await statusOf(address, b))!.status).toBe('subscribed');
    expect(await statusOf(address, c)).toMatchObject({ status: 'subscribed', source: 'preference_center' });
    const counts = await sql(`select id, subscriber_count from mailing_lists where id in (?, ?, ?)`, [a, b, c]);
    expect(Object.fromEntries(counts.map((r) => [r.id, r.subscriber_count]))).toEqual({ [a]: 0, [b]: 1, [c]: 1 });

    await post(`/u/${token}/preferences`, form({ list: [b, c], all: '1' }));
    expect(await statusOf(address, null)).toMatchObject({ status: 'unsubscribed', source: 'preference_center' });
    expect(await refusal(address, [b])).toEqual({ status: 'unsubscribed', listId: null });
    expect(await (await get(`/u/${token}`)).text()).toMatch(/name="all" value="1" checked/);

    await post(`/u/${token}/preferences`, form({ list: [b] }));
    expect((await statusOf(address, null))!.status).toBe('subscribed');
    expect(await refusal(address, [b])).toBeNull();
    expect((await statusOf(address, c))!.status).toBe('unsubscribed');
  });

  it('a forged token, another kind of token or an unknown row answers 404; failures are rate-limited by address', async () => {
    const list = await createList('Falsi');
    await setConsent('vera@example.test', list, 'subscribed');
    const real = await sendRow([list], 'vera@example.test');
    const bounce = filo.services.bulkTokens.sign({ sendId: real.sendId, kind: 'bounce', index: 0 });
    const unknown = filo.services.bulkTokens.sign({ sendId: randomUUID(), kind: 'unsubscribe', index: 0 });
    const flipped = real.token.slice(0, -2) + (real.token.endsWith('aa') ? 'ba' : 'aa');
    for (const token of [bounce, unknown, flipped, 'x'.repeat(47), 'short']) {
      const g = await get(`/u/${token}`);
      expect(g.status).toBe(404);
      expect(await g.text()).toContain('This link is not valid');
      expect((await post(`/u/${token}`, 'List-Unsubscribe=One-Click')).status).toBe(404);
      expect((await post(`/u/${token}/preferences`, form({ all: '1' }))).status).toBe(404);
    }
    expect((await statusOf('vera@example.test', list))!.status).toBe('subscribed');

    // A row whose recipient was erased keeps no address: no page to show, and a mail client's POST is still a 200.
    const erased = await sendRow([list], 'gone@example.test');
    await sql(`update bulk_sends set address = null where id = ?`, [erased.sendId]);
    expect((await get(`/u/${erased.token}`)).status).toBe(404);
    expect((await post(`/u/${erased.token}`, 'List-Unsubscribe=One-Click')).status).toBe(200);

    // One address guessing: after the limiter's failures, even a real token is refused there (and only there).
    const guesser = '203.0.113.99';
    let status = 0;
    for (let i = 0; i < 120 && status !== 429; i++) status = (await get(`/u/${'a'.repeat(47)}`, guesser)).status;
    expect(status).toBe(429);
    const refused = await post(`/u/${real.token}`, 'List-Unsubscribe=One-Click', guesser);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await statusOf('vera@example.test', list))!.status).toBe('subscribed');
    expect((await get(`/u/${real.token}`)).status).toBe(200);
  });

  it('keeps the tokens of these pages out of the log', () => {
    const t = 'a'.repeat(47);
    expect(redactUrl(`/u/${t}`)).toBe('/u/[redacted]');
    expect(redactUrl(`/u/${t}/preferences`)).toBe('/u/[redacted]/preferences');
    expect(redactUrl(`/s/confirm/${'A'.repeat(64)}`)).toBe('/s/confirm/[redacted]');
  });
});

describe('the public subscribe form with double opt-in', () => {
  const TEXT = 'Voglio ricevere la lettera di Ottica Riva. Posso cancellarmi quando voglio.';
  let list: string;
  let consentHash: string;

  beforeAll(async () => {
    list = await createList('Lettera Riva', { publicForm: true, consentText: TEXT });
    const html = await (await get(`/s/${list}`)).text();
    consentHash = /name="consentHash" value="([0-9a-f]{64})"/.exec(html)![1]!;
  });

  const signUp = (email: string, ip = nextIp(), extra: Record<string, string> = {}, to = list) =>
    post(
      `/s/${to}`,
      form({ email, firstName: 'Giulia', lastName: 'Neri', consent: 'yes', consentHash, website: '', ...extra }),
      ip,
    );

  it('records the evidence (ip, user agent, the exact text, sign-up and confirmation times) and only the confirmation subscribes', async () => {
    const page = await get(`/s/${list}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(TEXT);
    expect(html).toContain(workspace);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");

    const res = await signUp('Giulia.Neri@Example.test', '198.51.100.77');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Check your inbox');
    const [row] = await sql(
      `select id, status, source, ip, user_agent, consent_text, signed_up_at, confirmed_at, contact_id, address from consents where list_id = ?`,
      [list],
    );
    expect(row).toMatchObject({
      status: 'unconfirmed',
      source: 'form',
      ip: '198.51.100.77',
      user_agent: BROWSER,
      consent_text: TEXT,
      address: 'giulia.neri@example.test',
      confirmed_at: null,
    });
    expect(row.signed_up_at).not.toBeNull();
    // Not yet a subscriber: refused where confirmation is required.
    expect(await refusal('giulia.neri@example.test', [list], true)).toEqual({ status: 'unconfirmed', listId: null });
    // A new contact, its source noted.
    const [contact] = await sql(`select first_name, last_name, email, notes from contacts where id = ?`, [
      row.contact_id,
    ]);
    expect(contact).toMatchObject({ first_name: 'Giulia', last_name: 'Neri', email: 'giulia.neri@example.test' });
    expect(contact.notes).toContain('Lettera Riva');

    const [mail] = await mailsTo('giulia.neri@example.test');
    expect(mail!.subject).toBe('Confirm your subscription to Lettera Riva');
    const token = confirmToken(mail!.text)!;
    expect(token).toBeTruthy();
    const [stored] = await sql(`select confirm_token_hash from consents where id = ?`, [row.id]);
    expect(stored.confirm_token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(mail!.text).not.toContain(stored.confirm_token_hash);

    // The link's page only asks.
    const ask = await get(`/s/confirm/${token}`);
    expect(ask.status).toBe(200);
    expect(await ask.text()).toContain('Subscribe giulia.neri@example.test to “Lettera Riva”?');
    expect((await statusOf('giulia.neri@example.test', list))!.status).toBe('unconfirmed');

    const done = await post(`/s/confirm/${token}`, '', '198.51.100.78');
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Subscription confirmed');
    const [after] = await sql(
      `select status, confirmed_at, signed_up_at, consent_text, confirm_token_hash from consents where id = ?`,
      [row.id],
    );
    expect(after).toMatchObject({ status: 'subscribed', consent_text: TEXT, confirm_token_hash: null });
    expect(new Date(after.confirmed_at).getTime()).toBeGreaterThanOrEqual(new Date(after.signed_up_at).getTime());
    const evidence = await sql(
      `select status, ip, consent_text from consent_events where consent_id = ? order by created_at`,
      [row.id],
    );
    expect(evidence).toEqual([
      { status: 'unconfirmed', ip: '198.51.100.77', consent_text: TEXT },
      { status: 'subscribed', ip: '198.51.100.78', consent_text: null },
    ]);
    const [counted] = await sql(`select subscriber_count from mailing_lists where id = ?`, [list]);
    expect(counted.subscriber_count).toBe(1);
    expect(await refusal('giulia.neri@example.test', [list], true)).toBeNull();
    const timeline = await demo.json('GET', `/api/crm/timeline?entityType=contact&entityId=${row.contact_id}`);
    expect(timeline.items.some((a: { type: string }) => a.type === 'consent.given')).toBe(true);

    // Single use.
    expect((await post(`/s/confirm/${token}`, '')).status).toBe(404);
    expect((await get(`/s/confirm/${token}`)).status).toBe(404);
    const [still] = await sql(`select subscriber_count from mailing_lists where id = ?`, [list]);
    expect(still.subscriber_count).toBe(1);
  });

  it('finds the existing contact by email whatever its case', async () => {
    const contact = await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Paolo',
      lastName: 'Verdi',
      email: 'Paolo.Verdi@Example.test',
    });
    expect((await signUp('paolo.verdi@EXAMPLE.test')).status).toBe(200);
    const [row] = await sql(
      `select contact_id from consents where list_id = ? and address = 'paolo.verdi@example.test'`,
      [list],
    );
    expect(row.contact_id).toBe(contact.id);
    const [n] = await sql(`select count(*)::int as n from contacts where lower(email) = 'paolo.verdi@example.test'`);
    expect(n.n).toBe(1);
  });

  it('the confirmation link expires after 48 hours', async () => {
    await signUp('tardi@example.test');
    const token = confirmToken((await mailsTo('tardi@example.test'))[0]!.text)!;
    await sql(`update consents set updated_at = now() - interval '49 hours' where address = 'tardi@example.test'`);
    expect((await get(`/s/confirm/${token}`)).status).toBe(404);
    expect((await post(`/s/confirm/${token}`, '')).status).toBe(404);
    expect((await statusOf('tardi@example.test', list))!.status).toBe('unconfirmed');
    // A forged link in the same shape is no better.
    expect((await get(`/s/confirm/${token.slice(0, 22)}${'A'.repeat(42)}`)).status).toBe(404);
  });

  it('subscribes at once when the list has no double opt-in, but who left everything must confirm', async () => {
    const direct = await createList('Diretta', { publicForm: true, doubleOptIn: false });
    const html = await (await get(`/s/${direct}`, nextIp(), { 'accept-language': 'it' })).text();
    const hash = /name="consentHash" value="([0-9a-f]{64})"/.exec(html)![1]!;
    expect(html).toContain('Accetto di ricevere “Diretta”');
    const body = (email: string) => form({ email, consent: 'yes', consentHash: hash });
    expect(
      (await post(`/s/${direct}`, body('subito@example.test'), nextIp(), { 'accept-language': 'it' })).status,
    ).toBe(200);
    expect((await statusOf('subito@example.test', direct))!.status).toBe('subscribed');
    expect(await mailsTo('subito@example.test')).toHaveLength(0);
    const [row] = await sql(`select consent_text from consents where list_id = ? and address = 'subito@example.test'`, [
      direct,
    ]);
    expect(row.consent_text).toContain('Accetto di ricevere “Diretta”');

    // Erased (or unsubscribed from everything) before: this sign-up counts only once confirmed.
    await setConsent('tornato@example.test', null, 'unsubscribed', undefined, 'erasure');
    expect((await post(`/s/${direct}`, body('tornato@example.test'))).status).toBe(200);
    expect((await statusOf('tornato@example.test', direct))!.status).toBe('unconfirmed');
    const token = confirmToken((await mailsTo('tornato@example.test'))[0]!.text)!;
    expect((await post(`/s/confirm/${token}`, '')).status).toBe(200);
    expect((await statusOf('tornato@example.test', direct))!.status).toBe('subscribed');
    expect((await statusOf('tornato@example.test', null))!.status).toBe('subscribed');
  });

  it('answers 404 for a list whose form is off, an unknown list or a malformed id', async () => {
    const closed = await createList('Chiusa', { publicForm: false });
    for (const id of [closed, randomUUID(), 'not-a-list']) expect((await get(`/s/${id}`)).status).toBe(404);
    expect((await post(`/s/${closed}`, form({ email: 'x@example.test', consent: 'yes', consentHash }))).status).toBe(
      404,
    );
    expect(await sql(`select 1 from consents where list_id = ?`, [closed])).toHaveLength(0);
  });

  it('refuses a sign-up without consent or with a bad address (4xx, nothing kept), or after the text changed', async () => {
    const noConsent = await post(`/s/${list}`, form({ email: 'senza@example.test', consentHash }));
    expect(noConsent.status).toBe(400);
    expect(noConsent.headers.get('x-error-code')).toBe('invalid_signup');
    expect(await noConsent.text()).toContain('Tick the box to agree.');
    expect((await signUp('not an address')).status).toBe(400);
    const stale = await signUp('cambio@example.test', nextIp(), { consentHash: 'f'.repeat(64) });
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain('The terms have just changed');
    expect(
      await sql(`select 1 from consents where address in ('senza@example.test', 'cambio@example.test')`),
    ).toHaveLength(0);
  });

  it('a filled honeypot gets the usual answer and nothing is kept or sent; too many sign-ups from one address get 429', async () => {
    const bot = await signUp('bot@example.test', nextIp(), { website: 'http://spam.example' });
    expect(bot.status).toBe(200);
    expect(await bot.text()).toContain('Check your inbox');
    expect(await sql(`select 1 from consents where address = 'bot@example.test'`)).toHaveLength(0);
    expect(await sql(`select 1 from contacts where email = 'bot@example.test'`)).toHaveLength(0);
    expect(await mailsTo('bot@example.test')).toHaveLength(0);

    const ip = '203.0.113.7';
    for (let i = 0; i < SUBSCRIBE_LIMIT.attempts; i++)
      expect((await signUp(`flood${i}@example.test`, ip)).status).toBe(200);
    const over = await signUp('flood-over@example.test', ip);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await sql(`select 1 from consents where address = 'flood-over@example.test'`)).toHaveLength(0);
    expect((await signUp('elsewhere@example.test')).status).toBe(200);
  });

  it('mails one address at most three confirmation links an hour, from however many client addresses', async () => {
    for (let i = 0; i < 5; i++) expect((await signUp('insistente@example.test')).status).toBe(200);
    const mails = await mailsTo('insistente@example.test');
    expect(mails).toHaveLength(3);
    // Each new link replaced the last: only the newest confirms.
    const [older, newest] = [confirmToken(mails[0]!.text)!, confirmToken(mails[2]!.text)!];
    expect((await get(`/s/confirm/${older}`)).status).toBe(404);
    expect((await post(`/s/confirm/${newest}`, '')).status).toBe(200);
    expect((await statusOf('insistente@example.test', list))!.status).toBe('subscribed');
  });

  it('answers a suppressed or already subscribed address exactly as a new one, and mails neither', async () => {
    await setConsent('spam@example.test', null, 'complained');
    await setConsent('gia@example.test', list, 'subscribed');
    const answers = [];
    for (const email of ['nuovo@example.test', 'spam@example.test', 'gia@example.test']) {
      const res = await signUp(email);
      answers.push({ status: res.status, body: await res.text() });
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    expect(await mailsTo('nuovo@example.test')).toHaveLength(1);
    expect(await mailsTo('spam@example.test')).toHaveLength(0);
    expect(await mailsTo('gia@example.test')).toHaveLength(0);
    expect((await statusOf('spam@example.test', null))!.status).toBe('complained');
    expect(await statusOf('spam@example.test', list)).toBeUndefined();
    expect((await statusOf('gia@example.test', list))!.status).toBe('subscribed');
  });
});
