import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../server/delivery/mailer.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, body, login, signUp, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * Newsletter campaigns through the API: drafts from starter templates, edits with versions and checked tokens,
 * previews with a real contact's values, test copies in the development outbox, the lifecycle's states and refusals,
 * and another workspace seeing nothing.
 */

let filo: TestFilo;
let demo: ApiClient;
let other: ApiClient;
let tenantId: string;
let listId: string;
let mailbox: { id: string; inboundAddress: string };
let contact: { id: string };

const base = '/api/newsletters';

/** A static list made directly (the lists' API is another part of the app). */
async function makeList(name: string): Promise<string> {
  return inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
    const [row] = (await em.execute(
      `insert into mailing_lists (id, tenant_id, name, kind) values (gen_random_uuid(), ?, ?, 'static') returning id`,
      [tenantId, name],
    )) as { id: string }[];
    return row!.id;
  });
}

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Elsewhere',
      name: 'Else Owner',
      email: 'owner@elsewhere.example',
      password: 'correct horse battery',
    }),
  );
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
  listId = await makeList('Customers');
  mailbox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'News', localPart: 'news' });
  const company = await demo.json('POST', '/api/crm/companies', { name: 'Ottica <Riva>', type: 'client' });
  contact = await demo.json('POST', '/api/crm/contacts', {
    firstName: 'Giulia <b>',
    lastName: 'Riva',
    email: 'giulia@riva.test',
    companyId: company.id,
  });
});
afterAll(() => filo?.close());

describe('drafts', () => {
  it('lists the starter templates and starts a campaign from one', async () => {
    const { items } = await demo.json('GET', `${base}/templates`);
    expect(items.map((t: { id: string }) => t.id)).toEqual(['announcement', 'digest', 'event', 'letter']);
    const c = await demo.json('POST', `${base}/campaigns`, { name: 'Launch', templateId: 'digest' });
    expect(c).toMatchObject({ name: 'Launch', status: 'draft', version: 1, listIds: [], variants: [] });
    expect(c.content).toEqual(items[1].content);
    expect(c.counters).toMatchObject({ recipients: 0, sent: 0, opened: 0 });
    const bad = await demo.call('POST', `${base}/campaigns`, { name: 'X', templateId: 'nope' });
    expect(bad.status).toBe(400);
    expect((await body(bad)).error.fields).toHaveProperty('templateId');
  });

  it('edits with the version read: a stale one is 409 with the campaign as it is', async () => {
    const c = await demo.json('POST', `${base}/campaigns`, { name: 'Edits' });
    const edited = await demo.json('PATCH', `${base}/campaigns/${c.id}`, {
      subject: 'Hello {{contact.first_name | "there"}}',
      listIds: [listId],
      mailboxId: mailbox.id,
      version: c.version,
    });
    expect(edited).toMatchObject({ subject: 'Hello {{contact.first_name | "there"}}', listIds: [listId], version: 2 });
    const stale = await demo.call('PATCH', `${base}/campaigns/${c.id}`, { name: 'Late', version: c.version });
    expect(stale.status).toBe(409);
    const err = (await body(stale)).error;
    expect(err).toMatchObject({ code: 'version_conflict', current: { name: 'Edits', version: 2 } });
    expect((await demo.json('GET', `${base}/campaigns/${c.id}`)).name).toBe('Edits');
  });

  it('refuses unknown tokens on save with where they are, and other bad input with 400s', async () => {
    const c = await demo.json('POST', `${base}/campaigns`, { name: 'Tokens' });
    const content = {
      blocks: [
        { id: 'a', type: 'heading', text: 'Hi' },
        { id: 'b', type: 'text', markdown: 'Line one\nDear {{contact.nickname}}' },
      ],
    };
    const res = await demo.call('PATCH', `${base}/campaigns/${c.id}`, { content, version: 1 });
    expect(res.status).toBe(400);
    const err = (await body(res)).error;
    expect(err.code).toBe('unknown_token');
    expect(err.position).toMatchObject({ field: 'content.blocks.1.markdown', line: 2, column: 6 });
    expect(err.fields['content.blocks.1.markdown']).toMatch(/line 2, column 6/);
    const subject = await demo.call('POST', `${base}/campaigns`, { name: 'S', subject: 'Hi {{contact.first_name' });
    expect((await body(subject)).error).toMatchObject({ code: 'unknown_token', position: { field: 'subject' } });
    for (const [method, path, payload] of [
      ['POST', `${base}/campaigns`, {}],
      ['POST', `${base}/campaigns`, { name: 'x', listIds: ['not-a-uuid'] }],
      ['POST', `${base}/campaigns`, { name: 'x', content: { blocks: [{ id: 'a', type: 'video' }] } }],
      ['POST', `${base}/campaigns`, { name: 'x', listIds: ['00000000-0000-4000-8000-000000000000'] }],
      ['PATCH', `${base}/campaigns/${c.id}`, { name: 'x' }],
      [
        'PATCH',
        `${base}/campaigns/${c.id}`,
        { ab: { metric: 'clicks', testPercent: 20, waitMinutes: 60 }, version: 1 },
      ],
      [
        'PATCH',
        `${base}/campaigns/${c.id}`,
        {
          variants: [
            { key: 'A', subject: 'a', weight: 60 },
            { key: 'B', subject: 'b', weight: 60 },
          ],
          version: 1,
        },
      ],
      [
        'POST',
        `${base}/campaigns/${c.id}/test`,
        { to: ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example', 'f@x.example'] },
      ],
      ['POST', `${base}/campaigns/${c.id}/schedule`, { at: 'tomorrow' }],
      ['GET', `${base}/campaigns?limit=1000`, undefined],
      ['GET', `${base}/campaigns?cursor=garbage`, undefined],
    ] as [string, string, unknown][]) {
      const r = await demo.call(method, path, payload);
      expect(`${method} ${path} ${JSON.stringify(payload)} -> ${r.status}`).toBe(
        `${method} ${path} ${JSON.stringify(payload)} -> 400`,
      );
    }
    expect((await demo.json('GET', `${base}/campaigns/${c.id}`)).version).toBe(1);
  });

  it('pages the list newest first, filters by status, duplicates and deletes drafts', async () => {
    const a = await demo.json('POST', `${base}/campaigns`, { name: 'Page A' });
    const copy = await demo.json('POST', `${base}/campaigns/${a.id}/duplicate`, undefined, 201);
    expect(copy).toMatchObject({ name: 'Page A (copy)', status: 'draft', version: 1 });
    expect(copy.id).not.toBe(a.id);
    const first = await demo.json('GET', `${base}/campaigns?limit=1`);
    expect(first.items.map((i: { id: string }) => i.id)).toEqual([copy.id]);
    const second = await demo.json('GET', `${base}/campaigns?limit=1&cursor=${first.nextCursor}`);
    expect(second.items.map((i: { id: string }) => i.id)).toEqual([a.id]);
    const all = await demo.json('GET', `${base}/campaigns?status=draft&q=page`);
    expect(all.items).toHaveLength(2);
    await demo.json('DELETE', `${base}/campaigns/${copy.id}`);
    expect((await demo.call('GET', `${base}/campaigns/${copy.id}`)).status).toBe(404);
  });
});

describe('preview and test copies', () => {
  let campaignId: string;

  beforeAll(async () => {
    const c = await demo.json('POST', `${base}/campaigns`, {
      name: 'Preview',
      subject: 'News for {{contact.first_name | "you"}}',
      preheader: 'Inside: {{company.name}}',
      listIds: [listId],
      mailboxId: mailbox.id,
      content: {
        blocks: [
          { id: 'h', type: 'heading', text: 'Hi {{contact.first_name | "there"}} of {{company.name}}' },
          { id: 'b', type: 'button', label: 'Open', href: 'https://example.com/open' },
          { id: 'f', type: 'footer', address: 'Via Roma 1, Milano' },
        ],
      },
    });
    campaignId = c.id;
  });

  // the first compile starts a pool thread (MJML loads there): generous on a busy machine
  it('previews with a real contact’s values, escaped, or with sample values', { timeout: 60_000 }, async () => {
    const p = await demo.json('POST', `${base}/campaigns/${campaignId}/preview`, { contactId: contact.id }, 200);
    expect(p.subject).toBe('News for Giulia <b>');
    expect(p.html).toContain('Hi Giulia &lt;b&gt; of Ottica &lt;Riva&gt;');
    expect(p.html).not.toContain('Giulia <b>');
    expect(p.html).toContain('Inside: Ottica &lt;Riva&gt;');
    expect(p.html).toContain('href="https://example.com/open"');
    expect(p.text).toContain('Hi Giulia <b> of Ottica <Riva>');
    expect(p.warnings).toEqual([]);
    const sample = await demo.json('POST', `${base}/campaigns/${campaignId}/preview`, {}, 200);
    expect(sample.subject).toBe('News for Alex');
    const unknown = await demo.call('POST', `${base}/campaigns/${campaignId}/preview`, {
      contactId: '00000000-0000-4000-8000-000000000000',
    });
    expect(unknown.status).toBe(404);
  });

  it('refuses to prepare HTML nested too deeply, without stalling anyone', { timeout: 60_000 }, async () => {
    const deep = await demo.json('POST', `${base}/campaigns`, {
      name: 'Deep',
      content: { blocks: [{ id: 'r', type: 'html', html: '<div>'.repeat(1_500) + 'x' }] },
    });
    const res = await demo.call('POST', `${base}/campaigns/${deep.id}/preview`, {});
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe('content_too_complex');
    // the pool is fine afterwards
    expect((await demo.json('POST', `${base}/campaigns/${campaignId}/preview`, {}, 200)).subject).toBe('News for Alex');
  });

  it('sends test copies now to the development outbox, from the mailbox, and limits them per workspace', async () => {
    const to = ['ceo@riva.test', 'cto@riva.test'];
    const res = await demo.json('POST', `${base}/campaigns/${campaignId}/test`, { to }, 200);
    expect(res).toEqual({ sent: 2, transport: 'outbox' });
    const outbox = filo.services.mailer.outboxDir!;
    const mails = await Promise.all(readOutbox(outbox, { tenantId }).map(({ raw }) => simpleParser(raw)));
    const tests = mails.filter((m) => m.subject === '[Test] News for Alex');
    expect(tests.map((m) => (Array.isArray(m.to) ? '' : m.to?.text)).sort()).toEqual(to);
    expect(tests[0]!.from?.value[0]?.address).toBe(mailbox.inboundAddress);
    expect(tests[0]!.html).toContain('Hi Alex of Example Inc.');
    expect(tests[0]!.text).toContain('Hi Alex of Example Inc.');
    // 50 copies an hour: 2 sent, 45 more, then 4 do not fit (and count nothing), 3 do, and then nothing
    for (let i = 0; i < 9; i++)
      await demo.json(
        'POST',
        `${base}/campaigns/${campaignId}/test`,
        { to: ['a', 'b', 'c', 'd', 'e'].map((x) => `t${i}${x}@x.test`) },
        200,
      );
    const four = ['w', 'x', 'y', 'z'].map((x) => `${x}@x.test`);
    const limited = await demo.call('POST', `${base}/campaigns/${campaignId}/test`, { to: four });
    expect(limited.status).toBe(429);
    expect((await body(limited)).error.code).toBe('send_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    await demo.json('POST', `${base}/campaigns/${campaignId}/test`, { to: four.slice(1) }, 200);
    expect((await demo.call('POST', `${base}/campaigns/${campaignId}/test`, { to: ['late@x.test'] })).status).toBe(429);
    const count = readOutbox(outbox, { tenantId }).length;
    expect(count).toBe(mails.length + 48);
  });
});

describe('lifecycle', () => {
  it('will not schedule a campaign that is not ready, naming what is missing', async () => {
    const c = await demo.json('POST', `${base}/campaigns`, {
      name: 'Unready',
      content: { blocks: [{ id: 'h', type: 'heading', text: 'No footer' }] },
    });
    const at = new Date(Date.now() + 3600_000).toISOString();
    const res = await demo.call('POST', `${base}/campaigns/${c.id}/schedule`, { at });
    expect(res.status).toBe(400);
    const err = (await body(res)).error;
    expect(err.code).toBe('campaign_not_ready');
    expect(Object.keys(err.fields).sort()).toEqual(['content', 'fromEmail', 'listIds', 'subject']);
    // a From at a domain the workspace has not verified
    const v = (await demo.json('GET', `${base}/campaigns/${c.id}`)).version;
    await demo.json('PATCH', `${base}/campaigns/${c.id}`, {
      listIds: [listId],
      fromEmail: 'news@paypal.example',
      subject: 'Hi',
      content: { blocks: [{ id: 'f', type: 'footer', address: 'Via Roma 1' }] },
      version: v,
    });
    const spoof = await demo.call('POST', `${base}/campaigns/${c.id}/schedule`, { at });
    expect((await body(spoof)).error).toMatchObject({
      code: 'campaign_not_ready',
      fields: { fromEmail: expect.stringMatching(/paypal\.example is not a verified sending domain/) },
    });
    expect((await demo.json('GET', `${base}/campaigns/${c.id}`)).status).toBe('draft');
  });

  it('schedules a ready campaign, keeps it editable, and cancelling brings it back to draft', async () => {
    const c = await demo.json('POST', `${base}/campaigns`, {
      name: 'Scheduled',
      subject: 'Soon',
      listIds: [listId],
      mailboxId: mailbox.id,
    });
    const past = await demo.call('POST', `${base}/campaigns/${c.id}/schedule`, { at: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    const at = new Date(Date.now() + 3600_000).toISOString();
    const s = await demo.json('POST', `${base}/campaigns/${c.id}/schedule`, { at }, 200);
    expect(s).toMatchObject({ status: 'scheduled', scheduledAt: at });
    const edited = await demo.json('PATCH', `${base}/campaigns/${c.id}`, { subject: 'Soon!', version: s.version });
    expect(edited).toMatchObject({ status: 'scheduled', subject: 'Soon!' });
    expect((await demo.call('DELETE', `${base}/campaigns/${c.id}`)).status).toBe(409);
    for (const command of ['pause', 'resume'])
      expect((await body(await demo.call('POST', `${base}/campaigns/${c.id}/${command}`))).error.code).toBe(
        'invalid_status',
      );
    const back = await demo.json('POST', `${base}/campaigns/${c.id}/cancel`, undefined, 200);
    expect(back).toMatchObject({ status: 'draft', scheduledAt: null });
    expect((await body(await demo.call('POST', `${base}/campaigns/${c.id}/cancel`))).error.code).toBe('invalid_status');
  });

  it('will not edit a campaign once it is sending', async () => {
    const c = await demo.json('POST', `${base}/campaigns`, { name: 'Sent one', subject: 'x' });
    await inTenant(filo.orm, systemActor(tenantId), ({ em }) =>
      em.execute(`update campaigns set status = 'sending' where id = ?`, [c.id]),
    );
    const res = await demo.call('PATCH', `${base}/campaigns/${c.id}`, { name: 'y', version: c.version });
    expect(res.status).toBe(409);
    expect((await body(res)).error.code).toBe('campaign_not_editable');
    expect((await demo.call('DELETE', `${base}/campaigns/${c.id}`)).status).toBe(409);
  });
});

describe('tenant isolation', () => {
  it('answers 404 to another workspace on every campaign route, and lists nothing of ours', async () => {
    const c = await demo.json('POST', `${base}/campaigns`, { name: 'Ours', subject: 's', listIds: [listId] });
    const at = new Date(Date.now() + 3600_000).toISOString();
    for (const [method, path, payload] of [
      ['GET', `/campaigns/${c.id}`],
      ['PATCH', `/campaigns/${c.id}`, { name: 'hijack', version: 1 }],
      ['DELETE', `/campaigns/${c.id}`],
      ['POST', `/campaigns/${c.id}/duplicate`],
      ['POST', `/campaigns/${c.id}/preview`, {}],
      ['POST', `/campaigns/${c.id}/test`, { to: ['x@hijack.example'] }],
      ['POST', `/campaigns/${c.id}/schedule`, { at }],
      ['POST', `/campaigns/${c.id}/send`],
      ['POST', `/campaigns/${c.id}/pause`],
      ['POST', `/campaigns/${c.id}/resume`],
      ['POST', `/campaigns/${c.id}/cancel`],
    ] as [string, string, unknown?][]) {
      const res = await other.call(method, `${base}${path}`, payload);
      expect(`${method} ${path} -> ${res.status}`).toBe(`${method} ${path} -> 404`);
    }
    // our list and mailbox are not theirs to use either
    const theirs = await other.call('POST', `${base}/campaigns`, {
      name: 'x',
      listIds: [listId],
      mailboxId: mailbox.id,
    });
    expect(theirs.status).toBe(400);
    expect((await other.json('GET', `${base}/campaigns`)).items).toEqual([]);
    expect((await demo.json('GET', `${base}/campaigns/${c.id}`)).name).toBe('Ours');
  });
});
