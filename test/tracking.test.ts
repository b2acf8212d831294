import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrackingEventSchema } from '../db/entities/tracking-event.entity.ts';
import { isImageProxy, isMachineAgent, TrackingTokens, PIXEL_GIF } from '../server/outbound/tracking.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { LiveClient } from './support/live.ts';

/**
 * Open and click tracking (opt-in per mailbox): a reply from a tracking mailbox reaches the customer's server
 * (a second smtp-server, SMTP_RELAY_URL) with an open pixel and rewritten links; loading and following them
 * records opens and clicks, `email.opened` / `email.clicked` on the timeline, machine loads apart.
 */

const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';

let filo: TestFilo;
let demo: ApiClient;
let tenantId: string;
const received: ParsedMail[] = [];
let relay: SMTPServer;
let contact: { id: string };
let company: { id: string };

beforeAll(async () => {
  relay = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, _session, cb) {
      void simpleParser(stream).then((mail) => {
        received.push(mail);
        cb();
      }, cb);
    },
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.server.address() as AddressInfo).port;
  filo = await startTestFilo({ SMTP_RELAY_URL: `smtp://127.0.0.1:${port}`, OUTBOUND_RETRY_DELAY: '1' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
  company = await demo.json('POST', '/api/crm/companies', { name: 'Ottica Riva', type: 'client' });
  contact = await demo.json('POST', '/api/crm/contacts', {
    firstName: 'Marta',
    lastName: 'Riva',
    email: 'marta@ottica-riva.test',
    companyId: company.id,
  });
});
afterAll(async () => {
  await filo?.close();
  await new Promise<void>((resolve) => (relay ? relay.close(() => resolve()) : resolve()));
});

async function arrival(subject: string): Promise<ParsedMail> {
  await expect.poll(() => received.some((m) => m.subject === subject), { timeout: 20_000, interval: 100 }).toBe(true);
  return received.find((m) => m.subject === subject)!;
}

/** The customer writes to the mailbox; the agent replies; what reached the customer's server. */
async function replyFrom(mailbox: { inboundAddress: string }, subject: string, body: string) {
  const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, secure: false, ignoreTLS: true });
  await smtp.sendMail({
    from: '"Marta Riva" <marta@ottica-riva.test>',
    to: mailbox.inboundAddress,
    subject,
    text: 'Ciao',
  });
  smtp.close();
  let conversationId = '';
  await expect
    .poll(
      async () => {
        const page = await demo.json('GET', '/api/inbox/conversations?limit=100');
        conversationId = page.items.find((c: { subject: string }) => c.subject === subject)?.id ?? '';
        return conversationId;
      },
      { timeout: 20_000, interval: 100 },
    )
    .not.toBe('');
  const reply = await demo.json('POST', `/api/inbox/conversations/${conversationId}/replies`, { body }, 202);
  const mail = await arrival(`Re: ${subject}`);
  return { conversationId, reply, mail };
}

const events = (messageId: string) =>
  inTenant(filo.orm, systemActor(tenantId), ({ em }) =>
    em.find(TrackingEventSchema, { messageId }, { orderBy: { createdAt: 'asc' } }),
  );

async function messageOf(conversationId: string, id: string) {
  const conversation = await demo.json('GET', `/api/inbox/conversations/${conversationId}`);
  return conversation.messages.find((m: { id: string }) => m.id === id);
}

const timeline = async (entityType: string, entityId: string) =>
  (await demo.json('GET', `/api/crm/timeline?entityType=${entityType}&entityId=${entityId}&limit=100`)).items as {
    type: string;
    data: Record<string, unknown>;
  }[];

/** Adds and verifies a sending domain of the demo workspace, its TXT record answered by a stub resolver. */
async function verifyDomain(name: string) {
  const domain = await demo.json('POST', '/api/inbox/sending-domains', { domain: name });
  filo.services.sendingDomains.resolveTxt = async (host) => {
    if (host === `_filo.${name}`) return [[domain.record.value]];
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  };
  const verified = await demo.json('POST', `/api/inbox/sending-domains/${domain.id}/verify`, undefined, 200);
  expect(verified.status).toBe('verified');
}

const pixel = (token: string, userAgent = BROWSER) =>
  fetch(`${filo.baseUrl}/t/o/${token}.gif`, { headers: { 'user-agent': userAgent } });
const click = (token: string, userAgent = BROWSER) =>
  fetch(`${filo.baseUrl}/t/c/${token}`, { headers: { 'user-agent': userAgent }, redirect: 'manual' });

describe('a tracking mailbox', () => {
  it('sends a pixel and tracked links; human opens and clicks reach the timeline, machine ones do not', async () => {
    const mailbox = await demo.json('POST', '/api/inbox/mailboxes', {
      name: 'Vendite',
      localPart: 'vendite',
      trackOpens: true,
      trackClicks: true,
    });
    expect(mailbox).toMatchObject({ trackOpens: true, trackClicks: true });
    const { conversationId, reply, mail } = await replyFrom(
      mailbox,
      'Preventivo lenti',
      'Ecco il [listino](https://shop.filo.test/listino?a=1&b=2), il [sito](https://ottica.test/) e [di nuovo il listino](https://shop.filo.test/listino?a=1&b=2). Scrivi a [noi](mailto:vendite@filo.test).',
    );
    const html = mail.html as string;
    const base = filo.config.publicUrl;
    const pixels = [...html.matchAll(/<img[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
    expect(pixels).toHaveLength(1);
    const openToken = new RegExp(`^${base}/t/o/([A-Za-z0-9_-]+)\\.gif$`).exec(pixels[0]!)?.[1];
    expect(openToken).toBeTruthy();
    const hrefs = [...html.matchAll(/<a[^>]*href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    expect(hrefs).toHaveLength(4);
    expect(hrefs[3]).toBe('mailto:vendite@filo.test');
    const clickTokens = hrefs.slice(0, 3).map((h) => new RegExp(`^${base}/t/c/([A-Za-z0-9_-]+)$`).exec(h)?.[1]);
    expect(clickTokens.every(Boolean)).toBe(true);
    // The same address twice is the same tracked link; no original address is left in the HTML.
    expect(clickTokens[2]).toBe(clickTokens[0]);
    expect(clickTokens[1]).not.toBe(clickTokens[0]);
    expect(html).not.toContain('shop.filo.test');
    // The text part keeps the original links.
    expect(mail.text).toContain('https://shop.filo.test/listino?a=1&b=2');
    expect(mail.text).not.toContain('/t/');
    // What Filo shows of its own message is not tracked (agents reading it load nothing).
    const shown = await messageOf(conversationId, reply.id);
    expect(shown.html).not.toContain('/t/');
    expect(shown.tracking).toEqual({ opens: 0, openedAt: null, clicks: 0, clickedAt: null });

    const live = new LiveClient(filo.baseUrl, { cookie: demo.cookie });
    await live.ready();
    await live.watch('company', company.id);

    // Right after sending (inside the window): a prefetch, whatever the agent says.
    filo.services.tracking.machineWindowMs = 60_000;
    const early = await pixel(openToken!);
    expect(early.status).toBe(200);
    expect(early.headers.get('content-type')).toBe('image/gif');
    expect(early.headers.get('cache-control')).toContain('no-store');
    expect(Buffer.from(await early.arrayBuffer())).toEqual(PIXEL_GIF);
    // Gmail's image proxy fetching on delivery (inside the window): a machine load.
    expect((await pixel(openToken!, GMAIL_PROXY)).status).toBe(200);
    filo.services.tracking.machineWindowMs = 0;
    // Apple Mail Privacy Protection's bare agent prefetches at any time: a machine load.
    expect((await pixel(openToken!, 'Mozilla/5.0')).status).toBe(200);
    expect((await events(reply.id)).map((e) => [e.kind, e.machine])).toEqual([
      ['open', true],
      ['open', true],
      ['open', true],
    ]);
    expect((await messageOf(conversationId, reply.id)).tracking.opens).toBe(0);
    expect((await timeline('contact', contact.id)).filter((a) => a.type === 'email.opened')).toEqual([]);

    // The customer opens it (in a browser, then in Gmail through its image proxy, later than the window): once on
    // the timeline (live), every open counted on the message.
    expect((await pixel(openToken!)).status).toBe(200);
    expect((await pixel(openToken!, GMAIL_PROXY)).status).toBe(200);
    const opened = await live.until(() =>
      live.activities.find((a) => a.type === 'email.opened' && a.data.emailMessageId === reply.id),
    );
    expect(opened).toMatchObject({ entityType: 'contact', entityId: contact.id, companyId: company.id, actor: null });
    expect(opened.data).toMatchObject({ conversationId, emailMessageId: reply.id });
    const afterOpens = await messageOf(conversationId, reply.id);
    expect(afterOpens.tracking).toMatchObject({ opens: 2, openedAt: expect.any(String), clicks: 0 });
    expect((await timeline('contact', contact.id)).filter((a) => a.type === 'email.opened')).toHaveLength(1);
    expect((await timeline('company', company.id)).filter((a) => a.type === 'email.opened')).toHaveLength(1);

    // Clicks go to the address that was in the message; one activity per link, every click counted. A domain the
    // workspace has verified (filo.test) is a redirect; any other address is shown on a page first.
    await verifyDomain('filo.test');
    const first = await click(clickTokens[0]!);
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('https://shop.filo.test/listino?a=1&b=2');
    expect((await click(clickTokens[0]!)).headers.get('location')).toBe('https://shop.filo.test/listino?a=1&b=2');
    const second = await click(clickTokens[1]!);
    expect(second.status).toBe(200);
    expect(second.headers.get('location')).toBeNull();
    expect(second.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await second.text()).toContain('<a href="https://ottica.test/" rel="noopener noreferrer nofollow">');
    await live.until(() => live.activities.filter((a) => a.type === 'email.clicked').length === 2);
    const clicked = (await timeline('contact', contact.id)).filter((a) => a.type === 'email.clicked');
    expect(clicked.map((a) => a.data.url).sort()).toEqual([
      'https://ottica.test/',
      'https://shop.filo.test/listino?a=1&b=2',
    ]);
    expect((await timeline('company', company.id)).filter((a) => a.type === 'email.clicked')).toHaveLength(2);
    expect((await messageOf(conversationId, reply.id)).tracking).toMatchObject({ opens: 2, clicks: 3 });
    live.close();

    // Forged, altered, foreign or misused tokens: the pixel answers the same and records nothing; links 404.
    const before = (await events(reply.id)).length;
    const flip = (t: string) => `${t.slice(0, 10)}${t[10] === 'A' ? 'B' : 'A'}${t.slice(11)}`;
    const foreign = new TrackingTokens('another-secret-key-of-at-least-32-characters');
    const outOfRange = filo.services.tracking.tokens.sign({ messageId: reply.id, kind: 'click', index: 9 });
    const forgedOpen = foreign.sign({ messageId: reply.id, kind: 'open', index: 0 });
    for (const bad of [flip(openToken!), forgedOpen, 'x'.repeat(47), 'nope', clickTokens[0]!]) {
      const res = await pixel(bad);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(PIXEL_GIF);
    }
    for (const bad of [
      flip(clickTokens[0]!),
      foreign.sign({ messageId: reply.id, kind: 'click', index: 0 }),
      outOfRange,
      openToken!,
      'nope',
    ]) {
      const res = await click(bad);
      expect(res.status).toBe(404);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    }
    expect((await events(reply.id)).length).toBe(before);
    expect((await messageOf(conversationId, reply.id)).tracking).toMatchObject({ opens: 2, clicks: 3 });
  });

  it('can be switched on and off in the mailbox settings', async () => {
    const mailbox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Prova', localPart: 'prova' });
    expect(mailbox).toMatchObject({ trackOpens: false, trackClicks: false });
    const on = await demo.json('PATCH', `/api/inbox/mailboxes/${mailbox.id}`, { trackClicks: true });
    expect(on).toMatchObject({ trackOpens: false, trackClicks: true });
    const { mail } = await replyFrom(on, 'Solo link', 'Vedi [qui](https://ottica.test/qui).');
    expect(mail.html).toMatch(/\/t\/c\/[A-Za-z0-9_-]+"/);
    expect(mail.html).not.toContain('/t/o/');
  });
});

describe('tracked links', () => {
  it('lead only from a message that went out, and show an address off the verified domains before leaving', async () => {
    const mailbox = await demo.json('POST', '/api/inbox/mailboxes', {
      name: 'Redirect',
      localPart: 'redirect',
      trackClicks: true,
    });
    const { conversationId, reply, mail } = await replyFrom(
      mailbox,
      'Link strani',
      'Vai [qui](https://evil.test/login?next="><script>alert(1)</script>) o [qui](https://www.filo.test/ok).',
    );
    const tokens = [...(mail.html as string).matchAll(/\/t\/c\/([A-Za-z0-9_-]+)"/g)].map((m) => m[1]!);
    expect(tokens).toHaveLength(2);
    await expect.poll(async () => (await messageOf(conversationId, reply.id)).status).toBe('sent');
    const offList = await click(tokens[0]!);
    expect(offList.status).toBe(200);
    expect(offList.headers.get('location')).toBeNull();
    const page = await offList.text();
    expect(page).not.toContain('<script>');
    expect(page).toContain('evil.test');
    // The head request of a link checker gets the same answer, without a redirect.
    expect((await fetch(`${filo.baseUrl}/t/c/${tokens[0]}`, { method: 'HEAD', redirect: 'manual' })).status).toBe(200);
    expect((await click(tokens[1]!)).headers.get('location')).toBe('https://www.filo.test/ok');

    // A message that did not go out (failed, or still queued) leads nowhere.
    await inTenant(filo.orm, systemActor(tenantId), ({ em }) =>
      em.execute(`update messages set status = 'failed' where id = ?`, [reply.id]),
    );
    for (const token of tokens) {
      const res = await click(token);
      expect(res.status).toBe(404);
      expect(res.headers.get('location')).toBeNull();
    }
  });
});

describe('a mailbox without tracking', () => {
  it('sends the HTML untouched', async () => {
    const mailbox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Assistenza', localPart: 'assistenza' });
    const { conversationId, reply, mail } = await replyFrom(
      mailbox,
      'Montatura rotta',
      'Ciao, guarda [le istruzioni](https://ottica.test/istruzioni).',
    );
    const html = mail.html as string;
    expect(html).toContain('href="https://ottica.test/istruzioni"');
    expect(html).not.toContain('/t/');
    expect(html).not.toMatch(/<img/);
    expect((await messageOf(conversationId, reply.id)).tracking).toEqual({
      opens: 0,
      openedAt: null,
      clicks: 0,
      clickedAt: null,
    });
  });
});

describe('machine agents', () => {
  it('knows the proxies and prefetchers of the big mail clients, not browsers', () => {
    expect(isMachineAgent(GMAIL_PROXY)).toBe(false);
    expect(isImageProxy(GMAIL_PROXY)).toBe(true);
    expect(isImageProxy('YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html')).toBe(true);
    expect(isImageProxy(BROWSER)).toBe(false);
    expect(isMachineAgent('Mozilla/5.0')).toBe(true);
    expect(isMachineAgent('')).toBe(true);
    expect(isMachineAgent(undefined)).toBe(true);
    expect(isMachineAgent(BROWSER)).toBe(false);
    expect(
      isMachineAgent(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      ),
    ).toBe(false);
  });
});
