import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bumpStats } from '../server/delivery/bulk/stats.ts';
import { PIXEL_GIF } from '../server/delivery/tracking-rules.ts';
import { redactUrl } from '../server/http/redact.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import {
  apiClient,
  errorCode,
  login,
  startTestFilo,
  signUp,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

/**
 * Opens and clicks of bulk mail through `/t/b/...` (people apart from machines, unique counting, only the message's
 * links, the timeline once), and the campaign report, list growth and overview read from the counters.
 */

const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const APPLE_MPP = 'Mozilla/5.0';
const SCANNER = 'Mimecast Web Security Link Scanner';
const HOUR = 3_600_000;

let filo: TestFilo;
let demo: ApiClient;
let tenantId: string;
let campaignId: string;
const contacts: { id: string; email: string }[] = [];
/** Send rows by name: a..d sent an hour ago, fresh just now, queued never sent. */
const sends: Record<string, string> = {};
let ownUrl: string;
const OUTSIDE = 'https://shop.example.org/offer?x=1';

const sql = (q: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(tenantId), ({ em }) => em.execute(q, params));

const tokenOf = (name: string, kind: 'open' | 'click', index = 0) =>
  filo.services.bulkTokens.sign({ sendId: sends[name]!, kind, index });
const pixel = (name: string, ua: string) =>
  fetch(`${filo.baseUrl}/t/b/${tokenOf(name, 'open')}.gif`, { headers: { 'user-agent': ua } });
const click = (name: string, index: number, ua: string) =>
  fetch(`${filo.baseUrl}/t/b/${tokenOf(name, 'click', index)}`, { headers: { 'user-agent': ua }, redirect: 'manual' });

async function sendRow(name: string) {
  const [row] = await sql(`select opened_at, clicked_at from bulk_sends where id = ?`, [sends[name]]);
  return row as { opened_at: Date | null; clicked_at: Date | null };
}
async function stats() {
  const [row] = await sql(
    `select sum(opened)::int as opened, sum(clicked)::int as clicked from delivery_stats where source_id = ?`,
    [campaignId],
  );
  return row as { opened: number; clicked: number };
}
async function links() {
  return (await sql(`select link_index, clicks, human_clicks from delivery_links where source_id = ? order by 1`, [
    campaignId,
  ])) as { link_index: number; clicks: number; human_clicks: number }[];
}
async function timeline(contactId: string, type: string) {
  const page = await demo.json('GET', `/api/crm/timeline?entityType=contact&entityId=${contactId}&limit=100`);
  return page.items.filter((a: { type: string }) => a.type === type);
}

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
  ownUrl = `${filo.config.publicUrl}/pricing`;
  for (const name of ['anna', 'bruno', 'carla', 'dario', 'elena', 'fabio']) {
    const email = `${name}@clienti.test`;
    const c = await demo.json('POST', '/api/crm/contacts', { firstName: name, lastName: 'Test', email });
    contacts.push({ id: c.id, email });
  }
  const now = Date.now();
  await inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
    const [c] = (await em.execute(
      `insert into campaigns (id, tenant_id, name, status, subject, content, started_at)
       values (gen_random_uuid(), ?, 'Autumn news', 'sending', 'Our autumn', '{"blocks":[]}', ?) returning id`,
      [tenantId, new Date(now - 2 * HOUR)],
    )) as [{ id: string }];
    campaignId = c.id;
    const rows: [string, Date | null][] = [
      ['a', new Date(now - HOUR)],
      ['b', new Date(now - HOUR)],
      ['c', new Date(now - HOUR)],
      ['d', new Date(now - HOUR)],
      ['fresh', new Date(now)],
      ['queued', null],
    ];
    for (const [i, [name, sentAt]] of rows.entries()) {
      const [row] = (await em.execute(
        `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, message_id, sent_at)
         values (gen_random_uuid(), ?, 'campaign', ?, ?, ?, ?, ?, ?) returning id`,
        [tenantId, campaignId, contacts[i]!.id, contacts[i]!.email, sentAt ? 'sent' : 'pending', `<${name}@t>`, sentAt],
      )) as [{ id: string }];
      sends[name] = row.id;
      const key = { tenantId, source: 'campaign' as const, sourceId: campaignId, variant: null };
      await bumpStats(em, key, { recipients: 1 });
      if (sentAt) await bumpStats(em, key, { sent: 1 }, sentAt);
    }
    await em.execute(
      `insert into delivery_links (tenant_id, source, source_id, link_index, url) values (?, 'campaign', ?, 0, ?), (?, 'campaign', ?, 1, ?)`,
      [tenantId, campaignId, OUTSIDE, tenantId, campaignId, ownUrl],
    );
  });
}, 120_000);
afterAll(async () => {
  await filo?.close();
});

describe('opens of bulk mail', () => {
  it('counts people, not Apple’s prefetch, scanners or a proxy within the window; each opener once', async () => {
    for (const ua of [APPLE_MPP, SCANNER, '']) {
      const res = await pixel('a', ua);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
      expect(res.headers.get('cache-control')).toContain('no-store');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(PIXEL_GIF);
    }
    expect((await sendRow('a')).opened_at).toBeNull();
    // Gmail's proxy fetching on delivery (within the window after sending) is a machine...
    await pixel('fresh', GMAIL_PROXY);
    expect((await sendRow('fresh')).opened_at).toBeNull();
    // ... and when the person opens it later, a person.
    await pixel('a', GMAIL_PROXY);
    expect((await sendRow('a')).opened_at).not.toBeNull();
    expect(await stats()).toMatchObject({ opened: 1 });
    // A real browser after the window; opened three times, and at once by several loads: one opener.
    await Promise.all([pixel('b', BROWSER), pixel('b', BROWSER), pixel('b', BROWSER)]);
    await pixel('b', BROWSER);
    expect(await stats()).toMatchObject({ opened: 2 });
    expect(await timeline(contacts[1]!.id, 'campaign.opened')).toHaveLength(1);
    const [entry] = await timeline(contacts[1]!.id, 'campaign.opened');
    expect(entry.data).toMatchObject({
      campaignId,
      campaignName: 'Autumn news',
      subject: 'Our autumn',
      sendId: sends.b,
    });
    expect(await timeline(contacts[4]!.id, 'campaign.opened')).toHaveLength(0);
  });

  it('answers the same pixel to forged, foreign-kind and unknown tokens, recording nothing', async () => {
    const before = await stats();
    const forged = await fetch(`${filo.baseUrl}/t/b/${'a'.repeat(47)}.gif`, { headers: { 'user-agent': BROWSER } });
    const clickToken = await fetch(`${filo.baseUrl}/t/b/${tokenOf('c', 'click')}.gif`, {
      headers: { 'user-agent': BROWSER },
    });
    for (const res of [forged, clickToken]) {
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(PIXEL_GIF);
    }
    expect((await sendRow('c')).opened_at).toBeNull();
    expect(await stats()).toEqual(before);
  });
});

describe('clicks of bulk mail', () => {
  it('redirects only to the message’s links, counts people apart from scanners and writes the timeline once', async () => {
    // Filo's own address redirects at once; another site is shown on a page first.
    const own = await click('b', 1, BROWSER);
    expect(own.status).toBe(302);
    expect(own.headers.get('location')).toBe(ownUrl);
    const outside = await click('b', 0, BROWSER);
    expect(outside.status).toBe(200);
    expect(await outside.text()).toContain('https://shop.example.org/offer?x=1'.replace('&', '&amp;'));
    // The second link is still one clicker; both links counted.
    expect((await sendRow('b')).clicked_at).not.toBeNull();
    expect(await stats()).toMatchObject({ opened: 2, clicked: 1 });
    const clicked = await timeline(contacts[1]!.id, 'campaign.clicked');
    expect(clicked).toHaveLength(1);
    expect(clicked[0].data).toMatchObject({ campaignId, url: ownUrl, linkIndex: 1 });
    // A gateway's scanner follows the link: a click of the link, not a person's.
    expect((await click('c', 0, SCANNER)).status).toBe(200);
    expect((await sendRow('c')).clicked_at).toBeNull();
    expect(await links()).toEqual([
      { link_index: 0, clicks: 2, human_clicks: 1 },
      { link_index: 1, clicks: 1, human_clicks: 1 },
    ]);
  });

  it('makes a person’s click without a seen open count as the open too', async () => {
    expect((await click('d', 1, BROWSER)).status).toBe(302);
    const row = await sendRow('d');
    expect(row.opened_at).not.toBeNull();
    expect(row.clicked_at).not.toBeNull();
    expect(await stats()).toMatchObject({ opened: 3, clicked: 2 });
    expect(await timeline(contacts[3]!.id, 'campaign.opened')).toHaveLength(1);
    expect(await timeline(contacts[3]!.id, 'campaign.clicked')).toHaveLength(1);
    // A later open of the pixel changes nothing.
    await pixel('d', BROWSER);
    expect(await stats()).toMatchObject({ opened: 3, clicked: 2 });
  });

  it('answers 404 to a link the message did not have, a forged token, an open token and an unsent row', async () => {
    const before = await links();
    const answers = [
      await click('b', 7, BROWSER),
      await fetch(`${filo.baseUrl}/t/b/${'b'.repeat(47)}`, { redirect: 'manual' }),
      await fetch(`${filo.baseUrl}/t/b/${tokenOf('b', 'open')}`, { redirect: 'manual' }),
      await click('queued', 1, BROWSER),
    ];
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(res.headers.get('location')).toBeNull();
    }
    expect(await links()).toEqual(before);
    expect((await sendRow('queued')).clicked_at).toBeNull();
    // HEAD (a link checker) shows where it leads but records nothing.
    const head = await fetch(`${filo.baseUrl}/t/b/${tokenOf('a', 'click', 1)}`, {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(head.status).toBe(302);
    expect(await links()).toEqual(before);
  });

  it('keeps the tokens of /t/b/ out of the request log', () => {
    const token = tokenOf('a', 'click', 1);
    expect(redactUrl(`/t/b/${token}`)).toBe('/t/b/[redacted]');
    expect(redactUrl(`/t/b/${tokenOf('a', 'open')}.gif`)).toBe('/t/b/[redacted].gif');
  });
});

describe('the campaign report', () => {
  it('says what happened, from the counters', async () => {
    const report = await demo.json('GET', `/api/newsletters/campaigns/${campaignId}/report`);
    expect(report.campaign).toMatchObject({ id: campaignId, name: 'Autumn news', status: 'sending' });
    expect(report.totals).toMatchObject({
      recipients: 6,
      sent: 5,
      delivered: 5,
      bounced: 0,
      opened: 3,
      clicked: 2,
    });
    expect(report.totals.rates.opened).toBeCloseTo(3 / 5);
    expect(report.totals.rates.clicked).toBeCloseTo(2 / 5);
    expect(report.totals.rates.clickToOpen).toBeCloseTo(2 / 3);
    expect(report.links).toEqual([
      { index: 0, url: OUTSIDE, clicks: 2, humanClicks: 1 },
      { index: 1, url: ownUrl, clicks: 2, humanClicks: 2 },
    ]);
    const sum = (k: string) => report.hourly.reduce((n: number, h: Record<string, number>) => n + h[k]!, 0);
    expect(sum('sent')).toBe(5);
    expect(sum('opened')).toBe(3);
    expect(sum('clicked')).toBe(2);
    expect(report.progress).toEqual({ terminal: 5, recipients: 6, ratio: 5 / 6 });
    expect(report.ab).toBeNull();
  });

  it('answers 404 for a campaign of another workspace or none', async () => {
    const cookie = await signUp(filo, {
      workspace: 'Other',
      name: 'Rita Other',
      email: 'rita@other.test',
      password: 'a long enough passphrase 42',
    });
    const other = apiClient(filo.baseUrl, cookie);
    for (const path of [
      `/api/newsletters/campaigns/${campaignId}/report`,
      `/api/newsletters/campaigns/not-an-id/report`,
    ]) {
      const res = await other.call('GET', path);
      expect(res.status).toBe(404);
    }
    expect((await other.json('GET', '/api/newsletters/overview')).items).toEqual([]);
  });

  it('lists recent campaigns with their rates', async () => {
    const { items } = await demo.json('GET', '/api/newsletters/overview');
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ id: campaignId, sent: 5 });
    expect(items[0].openRate).toBeCloseTo(3 / 5);
    expect(items[0].clickRate).toBeCloseTo(2 / 5);
  });
});

describe('list growth', () => {
  it('counts subscriptions and withdrawals per day from the consent evidence', async () => {
    const day = (offset: number) => new Date(Date.now() - offset * 24 * HOUR);
    let listId = '';
    await inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
      const [list] = (await em.execute(
        `insert into mailing_lists (id, tenant_id, name) values (gen_random_uuid(), ?, 'Clienti') returning id`,
        [tenantId],
      )) as [{ id: string }];
      listId = list.id;
      const events: [string, string, number][] = [
        ['anna', 'subscribed', 3],
        ['bruno', 'subscribed', 3],
        ['carla', 'unconfirmed', 1],
        ['carla', 'subscribed', 1],
        ['anna', 'unsubscribed', 0],
        ['dario', 'subscribed', 40],
      ];
      const consentOf = new Map<string, string>();
      // Each consent as it stands after its last event (its list's subscriber count follows it).
      const final = new Map(events.map(([who, status]) => [who, status]));
      for (const [who, status, ago] of events) {
        if (!consentOf.has(who)) {
          const [c] = (await em.execute(
            `insert into consents (id, tenant_id, address_hash, list_id, status, source)
             values (gen_random_uuid(), ?, ?, ?, ?, 'form') returning id`,
            [tenantId, `hash-${who}`, listId, final.get(who)],
          )) as [{ id: string }];
          consentOf.set(who, c.id);
        }
        await em.execute(
          `insert into consent_events (id, tenant_id, consent_id, status, source, created_at)
           values (gen_random_uuid(), ?, ?, ?, 'form', ?)`,
          [tenantId, consentOf.get(who), status, day(ago)],
        );
      }
      // Another list's subscription is not this list's growth.
      const [otherList] = (await em.execute(
        `insert into mailing_lists (id, tenant_id, name) values (gen_random_uuid(), ?, 'Fornitori') returning id`,
        [tenantId],
      )) as [{ id: string }];
      const [c] = (await em.execute(
        `insert into consents (id, tenant_id, address_hash, list_id, status, source)
         values (gen_random_uuid(), ?, 'hash-x', ?, 'subscribed', 'form') returning id`,
        [tenantId, otherList.id],
      )) as [{ id: string }];
      await em.execute(
        `insert into consent_events (id, tenant_id, consent_id, status, source) values (gen_random_uuid(), ?, ?, 'subscribed', 'form')`,
        [tenantId, c.id],
      );
    });
    const growth = await demo.json('GET', `/api/newsletters/lists/${listId}/growth?days=7`);
    // bruno, carla and dario (anna left)
    expect(growth.total).toBe(3);
    expect(growth.days).toHaveLength(7);
    const iso = (ago: number) => day(ago).toISOString().slice(0, 10);
    const byDay = Object.fromEntries(growth.days.map((d: { day: string }) => [d.day, d]));
    expect(byDay[iso(3)]).toEqual({ day: iso(3), subscribed: 2, unsubscribed: 0, net: 2 });
    expect(byDay[iso(1)]).toEqual({ day: iso(1), subscribed: 1, unsubscribed: 0, net: 1 });
    expect(byDay[iso(0)]).toEqual({ day: iso(0), subscribed: 0, unsubscribed: 1, net: -1 });
    expect(growth.days.reduce((n: number, d: { net: number }) => n + d.net, 0)).toBe(2);
    expect(growth.days.at(-1).day).toBe(iso(0));
    const bad = await demo.call('GET', `/api/newsletters/lists/${listId}/growth?days=0`);
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe('validation_failed');
    expect((await demo.call('GET', `/api/newsletters/lists/${campaignId}/growth`)).status).toBe(404);
  });
});

// Last: it uses up this address's budget of failed credential checks.
describe('forged tracking tokens', () => {
  it('count against the address like any failed credential; over budget, nothing is looked up', async () => {
    const forged = (i: number) => `${i.toString(32).padStart(4, 'a')}${'a'.repeat(43)}`.replace(/[01]/g, 'b');
    let answered = 0;
    for (let i = 0; i < 100; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, j) => fetch(`${filo.baseUrl}/t/b/${forged(i + j)}`, { redirect: 'manual' })),
      );
      answered += batch.filter((res) => res.status === 404 || res.status === 429).length;
    }
    expect(answered).toBe(100);
    // A real link now gets the refusal page, and a real pixel the same GIF, recording nothing.
    const limited = await click('c', 1, BROWSER);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('location')).toBeNull();
    const gif = await pixel('c', BROWSER);
    expect(Buffer.from(await gif.arrayBuffer())).toEqual(PIXEL_GIF);
    expect(await sendRow('c')).toEqual({ opened_at: null, clicked_at: null });
  });
});
