import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

/**
 * A campaign sent for real: to a static list, through the shared engine, to an smtp-server sink (the relay): one
 * copy per subscribed recipient with its own merged values, tracked links, open pixel and unsubscribe link; the
 * campaign ends `sent` with its counters, and each contact's timeline shows it. Scheduled campaigns start from
 * the due job; pause, resume and cancel move the status the engine reads.
 */

let filo: TestFilo;
let sink: SmtpSink;
let demo: ApiClient;
let tenantId: string;
let mailbox: { id: string; inboundAddress: string };
const base = '/api/newsletters';

const sql = <T>(query: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(tenantId), ({ em }) => em.execute(query, params)) as Promise<T[]>;

async function staticList(name: string, members: { contactId: string; email: string; status?: string }[]) {
  const [list] = await sql<{ id: string }>(
    `insert into mailing_lists (id, tenant_id, name, kind, double_opt_in) values (gen_random_uuid(), ?, ?, 'static', false) returning id`,
    [tenantId, name],
  );
  await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
    for (const m of members)
      await filo.services.consent.set(uow, {
        channel: 'email',
        address: m.email,
        listId: list!.id,
        status: (m.status ?? 'subscribed') as 'subscribed',
        source: 'import',
        contactId: m.contactId,
      });
  });
  return list!.id;
}

const ready = (listId: string, name: string) => ({
  name,
  subject: 'Hello {{contact.first_name | "friend"}}',
  listIds: [listId],
  mailboxId: mailbox.id,
  content: {
    blocks: [
      { id: 'h', type: 'heading', text: 'Dear {{contact.first_name | "friend"}} {{contact.last_name}}' },
      { id: 't', type: 'text', markdown: 'Read [the post](https://blog.example.com/post?x=1).' },
      { id: 'b', type: 'button', label: 'Shop', href: 'https://shop.example.com/' },
      { id: 'f', type: 'footer', address: 'Via Roma 1, Milano' },
    ],
  },
});

beforeAll(async () => {
  sink = await startSmtpSink();
  filo = await startTestFilo({ SMTP_RELAY_URL: sink.url });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
  mailbox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'News', localPart: 'news' });
});
afterAll(async () => {
  await filo?.close();
  await sink?.close();
});

describe('sending a campaign', () => {
  // the first compile starts a pool thread, and the engine's jobs poll: generous on a busy machine
  it(
    'delivers one merged, tracked copy to each subscribed member and ends sent, on each timeline',
    { timeout: 90_000 },
    async () => {
      const people: { id: string; email: string }[] = [];
      for (const [first, last] of [
        ['Anna', 'Bianchi'],
        ['Bruno', '<Verdi>'],
        ['Carla', 'Neri'],
      ] as const)
        people.push(
          await demo.json('POST', '/api/crm/contacts', {
            firstName: first,
            lastName: last,
            email: `${first.toLowerCase()}@people.test`,
          }),
        );
      const listId = await staticList('Readers', [...people.map((p) => ({ contactId: p.id, email: p.email }))]);
      // Carla unsubscribed from the list: she is not mailed
      await inTenant(filo.orm, systemActor(tenantId), (uow) =>
        filo.services.consent.set(uow, {
          channel: 'email',
          address: 'carla@people.test',
          listId,
          status: 'unsubscribed',
          source: 'one_click',
          contactId: people[2]!.id,
        }),
      );
      const c = await demo.json('POST', `${base}/campaigns`, ready(listId, 'First send'));
      const started = await demo.json('POST', `${base}/campaigns/${c.id}/send`, undefined, 200);
      expect(started.status).toMatch(/^(sending|sent)$/);
      expect(started.startedAt).not.toBeNull();
      await expect
        .poll(async () => (await demo.json('GET', `${base}/campaigns/${c.id}`)).status, { timeout: 30_000 })
        .toBe('sent');
      const done = await demo.json('GET', `${base}/campaigns/${c.id}`);
      expect(done.counters).toMatchObject({ recipients: 2, sent: 2 });
      expect(done.finishedAt).not.toBeNull();

      const mine = sink.messages.filter((m) => m.to.some((t) => t.endsWith('@people.test')));
      expect(mine.map((m) => m.to[0]).sort()).toEqual(['anna@people.test', 'bruno@people.test']);
      const mails: Record<string, ParsedMail> = {};
      for (const m of mine) mails[m.to[0]!] = await simpleParser(m.raw);
      const bruno = mails['bruno@people.test']!;
      expect(bruno.subject).toBe('Hello Bruno');
      expect(bruno.from?.value[0]?.address).toBe(mailbox.inboundAddress);
      expect(bruno.html).toContain('Dear Bruno &lt;Verdi&gt;');
      expect(bruno.text).toContain('Dear Bruno <Verdi>');
      expect(mails['anna@people.test']!.html).toContain('Dear Anna Bianchi');
      // links go through Filo, each copy with its own tokens; the unsubscribe link and the pixel too
      const html = bruno.html as string;
      const tracked = [...html.matchAll(/href="([^"]+\/t\/b\/[a-z2-7]{47})"/g)].map((m) => m[1]);
      expect(tracked.length).toBeGreaterThanOrEqual(2);
      expect(html).not.toContain('https://blog.example.com/post');
      expect(html).not.toContain('https://shop.example.com/');
      expect(html).toMatch(/<img src="[^"]+\/t\/b\/[a-z2-7]{47}\.gif"/);
      expect(html).toMatch(/href="[^"]+\/u\/[a-z2-7]{47}"/);
      const raw = mine.find((m) => m.to[0] === 'bruno@people.test')!.raw;
      // the engine's one-click header beside the campaign's own link
      expect(raw.slice(0, raw.indexOf('\r\n\r\n'))).toMatch(/^List-Unsubscribe:\s+<[^>]+\/u\/[a-z2-7]{47}>/im);
      const annaLinks = [...(mails['anna@people.test']!.html as string).matchAll(/\/t\/b\/([a-z2-7]{47})"/g)].map(
        (m) => m[1],
      );
      expect(annaLinks.some((t) => tracked.some((u) => u!.endsWith(t!)))).toBe(false);
      // the links' table: each URL once, by index
      const links = await sql<{ link_index: number; url: string }>(
        `select link_index, url from delivery_links where source = 'campaign' and source_id = ? order by link_index`,
        [c.id],
      );
      expect(links.map((l) => l.url).sort()).toEqual([
        'https://blog.example.com/post?x=1',
        'https://shop.example.com/',
      ]);
      // each recipient's timeline
      const timeline = await demo.json('GET', `/api/crm/timeline?entityType=contact&entityId=${people[1]!.id}`);
      expect(timeline.items.find((a: { type: string }) => a.type === 'campaign.sent')).toMatchObject({
        data: { campaignId: c.id, campaignName: 'First send', subject: 'Hello {{contact.first_name | "friend"}}' },
      });
      const carla = await demo.json('GET', `/api/crm/timeline?entityType=contact&entityId=${people[2]!.id}`);
      expect(carla.items.some((a: { type: string }) => a.type === 'campaign.sent')).toBe(false);
      // sent: nothing more to do with it
      expect((await demo.call('PATCH', `${base}/campaigns/${c.id}`, { name: 'x', version: done.version })).status).toBe(
        409,
      );
    },
  );

  it('starts a scheduled campaign when its time has come, once', { timeout: 60_000 }, async () => {
    const person = await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Dario',
      lastName: 'Rossi',
      email: 'dario@later.test',
    });
    const listId = await staticList('Later', [{ contactId: person.id, email: person.email }]);
    const c = await demo.json('POST', `${base}/campaigns`, ready(listId, 'Later'));
    const at = new Date(Date.now() + 3600_000).toISOString();
    await demo.json('POST', `${base}/campaigns/${c.id}/schedule`, { at }, 200);
    expect(await filo.services.campaignLifecycle.startDue(new Date())).toBe(0);
    // its time comes
    const started = await filo.services.campaignLifecycle.startDue(new Date(Date.now() + 2 * 3600_000));
    expect(started).toBe(1);
    expect(await filo.services.campaignLifecycle.startDue(new Date(Date.now() + 2 * 3600_000))).toBe(0);
    await expect
      .poll(async () => (await demo.json('GET', `${base}/campaigns/${c.id}`)).status, { timeout: 30_000 })
      .toBe('sent');
    await expect.poll(() => sink.messages.filter((m) => m.to.includes('dario@later.test')).length).toBe(1);
  });

  it(
    'splits an A/B test by weight, each variant with its own subject, and sends the winner to the rest',
    { timeout: 90_000 },
    async () => {
      const people: { id: string; email: string }[] = [];
      for (const n of [1, 2, 3, 4])
        people.push(
          await demo.json('POST', '/api/crm/contacts', {
            firstName: `Ab${n}`,
            lastName: 'Test',
            email: `ab${n}@ab.test`,
          }),
        );
      const listId = await staticList(
        'AB',
        people.map((p) => ({ contactId: p.id, email: p.email })),
      );
      const c = await demo.json('POST', `${base}/campaigns`, ready(listId, 'AB'));
      await demo.json('PATCH', `${base}/campaigns/${c.id}`, {
        variants: [
          { key: 'A', subject: 'Subject A for {{contact.first_name}}', weight: 50 },
          {
            key: 'B',
            subject: 'Subject B',
            weight: 50,
            content: {
              blocks: [
                { id: 'x', type: 'heading', text: 'Version B' },
                { id: 'f', type: 'footer', address: 'Via Roma 1' },
              ],
            },
          },
        ],
        ab: { metric: 'clicks', testPercent: 50, waitMinutes: 60 },
        version: c.version,
      });
      await demo.json('POST', `${base}/campaigns/${c.id}/send`, undefined, 200);
      const ab = () => sink.messages.filter((m) => m.to[0]!.endsWith('@ab.test'));
      await expect.poll(() => ab().length, { timeout: 30_000 }).toBe(2);
      const first = await Promise.all(ab().map((m) => simpleParser(m.raw)));
      const subjects = first.map((m) => m.subject!.replace(/for Ab\d/, 'for AbN')).sort();
      expect(subjects).toEqual(['Subject A for AbN', 'Subject B']);
      expect(first.find((m) => m.subject === 'Subject B')!.html).toContain('Version B');
      // the sink has them a moment before the engine records them sent
      await expect.poll(async () => (await demo.json('GET', `${base}/campaigns/${c.id}`)).counters.sent).toBe(2);
      const held = await demo.json('GET', `${base}/campaigns/${c.id}`);
      expect(held).toMatchObject({ status: 'sending', counters: { recipients: 4, sent: 2 } });
      // the winner (the analytics' job decides it) goes to the other half
      await inTenant(filo.orm, systemActor(tenantId), (uow) => filo.services.bulk.release(uow, 'campaign', c.id, 'A'));
      await expect
        .poll(async () => (await demo.json('GET', `${base}/campaigns/${c.id}`)).status, { timeout: 30_000 })
        .toBe('sent');
      const all = await Promise.all(ab().map((m) => simpleParser(m.raw)));
      expect(all.map((m) => (Array.isArray(m.to) ? '' : m.to!.text)).sort()).toEqual(people.map((p) => p.email).sort());
      expect(all.filter((m) => m.subject?.startsWith('Subject A'))).toHaveLength(3);
    },
  );

  it('pauses, resumes and cancels a sending campaign, and refuses the moves that make no sense', async () => {
    const c = await demo.json('POST', `${base}/campaigns`, { name: 'Moves', subject: 's' });
    // a campaign in the middle of its send (its rows are the engine's business)
    await sql(`update campaigns set status = 'sending', started_at = now() where id = ?`, [c.id]);
    const paused = await demo.json('POST', `${base}/campaigns/${c.id}/pause`, undefined, 200);
    expect(paused.status).toBe('paused');
    const scope = await inTenant(filo.orm, systemActor(tenantId), ({ em }) =>
      filo.services.campaignHandler.scope(em, c.id),
    );
    expect(scope?.state).toBe('paused');
    expect((await demo.call('POST', `${base}/campaigns/${c.id}/pause`)).status).toBe(409);
    expect((await demo.json('POST', `${base}/campaigns/${c.id}/resume`, undefined, 200)).status).toBe('sending');
    const other = await demo.json('POST', `${base}/campaigns`, { name: 'Stopped', subject: 's' });
    await sql(`update campaigns set status = 'paused', started_at = now() where id = ?`, [other.id]);
    const cancelled = await demo.json('POST', `${base}/campaigns/${other.id}/cancel`, undefined, 200);
    expect(cancelled).toMatchObject({ status: 'cancelled' });
    expect(cancelled.finishedAt).not.toBeNull();
    for (const command of ['resume', 'pause', 'cancel', 'send'])
      expect((await demo.call('POST', `${base}/campaigns/${other.id}/${command}`)).status).toBe(409);
  });
});
