import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceQuery, listsOf } from '../server/newsletters/audience.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, body, login, signUp, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

let filo: TestFilo;
let demo: ApiClient;
let other: ApiClient;
let tenantId: string;
let otherTenantId: string;

const sql = <T>(tenant: string, query: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(tenant), ({ em }) => em.execute(query, params)) as Promise<T[]>;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Lists Other',
      name: 'Other Owner',
      email: 'owner@lists-other.example',
      password: 'correct horse battery',
    }),
  );
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
  otherTenantId = (await other.json('GET', '/api/auth/me')).workspace.id;
});
afterAll(() => filo?.close());

const company = (c: ApiClient, name: string, extra: Record<string, unknown> = {}) =>
  c.json('POST', '/api/crm/companies', { name, type: 'client', ...extra }) as Promise<{ id: string }>;
const contact = (c: ApiClient, firstName: string, email: string | null, extra: Record<string, unknown> = {}) =>
  c.json('POST', '/api/crm/contacts', { firstName, lastName: 'Test', email, ...extra }) as Promise<{ id: string }>;

describe('audienceQuery', () => {
  it('unions static members (subscribed only) and segment matches, one row per address and per contact', async () => {
    const client = await company(demo, 'Audience Client', { type: 'client' });
    const supplier = await company(demo, 'Audience Supplier', { type: 'supplier' });
    const ann = await contact(demo, 'Ann', 'Ann@Audience.example', { companyId: client.id });
    const noEmail = await contact(demo, 'Nomail', null, { companyId: client.id });
    const bob = await contact(demo, 'Bob', 'bob@audience.example', { companyId: supplier.id });
    const ann2 = await contact(demo, 'Ann2', 'ANN@audience.example', { companyId: supplier.id });
    const pending = await contact(demo, 'Pending', 'pending@audience.example', { companyId: supplier.id });
    const gone = await contact(demo, 'Gone', 'gone@audience.example', { companyId: supplier.id });
    // Bob also under an old address: still mailed once.
    const ids = await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
      const [list] = (await uow.em.execute(
        `insert into mailing_lists (id, tenant_id, name, kind) values (gen_random_uuid(), ?, 'Static', 'static') returning id`,
        [tenantId],
      )) as { id: string }[];
      const [segment] = (await uow.em.execute(
        `insert into mailing_lists (id, tenant_id, name, kind, filter) values (gen_random_uuid(), ?, 'Clients', 'segment', ?) returning id`,
        [
          tenantId,
          JSON.stringify({ match: 'all', conditions: [{ field: 'company.type', op: 'is', value: 'client' }] }),
        ],
      )) as { id: string }[];
      const set = (address: string, contactId: string | null, status: 'subscribed' | 'unconfirmed' | 'unsubscribed') =>
        filo.services.consent.set(uow, {
          channel: 'email',
          address,
          listId: list!.id,
          status,
          source: 'crm',
          contactId,
        });
      await set('bob@audience.example', bob.id, 'subscribed');
      await set('bob.old@audience.example', bob.id, 'subscribed');
      await set('ann@audience.example', ann2.id, 'subscribed');
      await set('pending@audience.example', pending.id, 'unconfirmed');
      await set('gone@audience.example', gone.id, 'unsubscribed');
      await set('signup@audience.example', null, 'subscribed');
      return { list: list!.id, segment: segment!.id };
    });

    const rows = await inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
      const q = await audienceQuery(em, tenantId, [ids.list, ids.segment]);
      return (await em.execute(q.sql, q.params)) as { contact_id: string | null; address: string }[];
    });
    const addresses = rows.map((r) => r.address).sort();
    expect(addresses).toHaveLength(3);
    expect(addresses[0]).toBe('ann@audience.example');
    expect(['bob@audience.example', 'bob.old@audience.example']).toContain(addresses[1]);
    expect(addresses[2]).toBe('signup@audience.example');
    expect(rows.find((r) => r.address === 'ann@audience.example')!.contact_id).toMatch(
      new RegExp(`^(${ann.id}|${ann2.id})$`),
    );
    expect(rows.find((r) => r.address.startsWith('bob'))!.contact_id).toBe(bob.id);
    expect(rows.map((r) => r.contact_id)).not.toContain(noEmail.id);
    expect(rows.map((r) => r.contact_id)).not.toContain(pending.id);
    expect(rows.map((r) => r.contact_id)).not.toContain(gone.id);

    // The segment alone: the client's contact with an email.
    const segmentOnly = await inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
      const q = await audienceQuery(em, tenantId, [ids.segment]);
      return (await em.execute(q.sql, q.params)) as { contact_id: string; address: string }[];
    });
    expect(segmentOnly).toEqual([{ contact_id: ann.id, address: 'ann@audience.example' }]);

    // It runs as the source of an insert into bulk_sends in a tenant transaction (row-level security on).
    const campaignId = '11111111-2222-4333-8444-555555555555';
    const inserted = await inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
      const q = await audienceQuery(em, tenantId, [ids.list, ids.segment]);
      return (await em.execute(
        `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, message_id)
         select gen_random_uuid(), ?, 'campaign', ?, a.contact_id, a.address, gen_random_uuid()::text from (${q.sql}) a
         returning address`,
        [tenantId, campaignId, ...q.params],
      )) as { address: string }[];
    });
    expect(inserted.map((r) => r.address).sort()).toEqual(addresses);

    // Another workspace naming these lists gets nobody.
    const foreign = await inTenant(filo.orm, systemActor(otherTenantId), async ({ em }) => {
      const q = await audienceQuery(em, otherTenantId, [ids.list, ids.segment]);
      return em.execute(q.sql, q.params);
    });
    expect(foreign).toEqual([]);

    const info = await inTenant(filo.orm, systemActor(tenantId), ({ em }) => listsOf(em, [ids.segment, ids.list]));
    expect(info).toEqual([
      { id: ids.segment, name: 'Clients', kind: 'segment', doubleOptIn: true },
      { id: ids.list, name: 'Static', kind: 'static', doubleOptIn: true },
    ]);
    expect(await sql(tenantId, `select count(*)::int as n from bulk_sends where source_id = ?`, [campaignId])).toEqual([
      { n: 3 },
    ]);
  });
});

const emailsOf = (p: { sample: { email: string }[] }) => p.sample.map((s) => s.email).sort();

describe('segments', () => {
  // A workspace of its own, so that the demo data does not blur the counts.
  let seg: ApiClient;
  let segTenant: string;
  const segPreview = (filter: unknown) => seg.json('POST', '/api/newsletters/lists/preview', { filter }, 200);
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    seg = apiClient(
      filo.baseUrl,
      await signUp(filo, {
        workspace: 'Segments',
        name: 'Seg Owner',
        email: 'owner@segments.example',
        password: 'correct horse battery',
      }),
    );
    segTenant = (await seg.json('GET', '/api/auth/me')).workspace.id;
    const me = (await seg.json('GET', '/api/auth/me')).user.id;
    await seg.json('POST', '/api/crm/custom-fields', {
      entityType: 'company',
      fieldName: 'employees',
      fieldLabel: 'Employees',
      fieldType: 'number',
    });
    await seg.json('POST', '/api/crm/custom-fields', {
      entityType: 'contact',
      fieldName: 'city',
      fieldLabel: 'City',
      fieldType: 'text',
    });
    await seg.json('POST', '/api/crm/custom-fields', {
      entityType: 'contact',
      fieldName: 'since',
      fieldLabel: 'Customer since',
      fieldType: 'date',
    });
    await seg.json('POST', '/api/crm/custom-fields', {
      entityType: 'contact',
      fieldName: 'vip',
      fieldLabel: 'VIP',
      fieldType: 'boolean',
    });
    await seg.json('POST', '/api/crm/custom-fields', {
      entityType: 'contact',
      fieldName: 'interests',
      fieldLabel: 'Interests',
      fieldType: 'multiselect',
      fieldOptions: ['wine', 'cheese'],
    });
    const big = await company(seg, 'Big Client', {
      type: 'client',
      status: 'active',
      tags: ['vip'],
      assignedTo: me,
      customFields: { employees: 500 },
    });
    const small = await company(seg, 'Small Supplier', {
      type: 'supplier',
      status: 'prospect',
      customFields: { employees: 5 },
    });
    ids.big = big.id;
    ids.small = small.id;
    ids.anna = (
      await contact(seg, 'Anna', 'anna@seg.example', {
        companyId: big.id,
        tags: ['newsletter'],
        customFields: { city: 'Milano', since: '2020-05-01', vip: true, interests: ['wine', 'cheese'] },
      })
    ).id;
    ids.bruno = (
      await contact(seg, 'Bruno', 'Bruno@Seg.example', {
        companyId: small.id,
        customFields: { city: 'Roma', since: '2024-01-10', vip: false, interests: ['cheese'] },
      })
    ).id;
    ids.carla = (await contact(seg, 'Carla', 'carla@seg.example', { status: 'inactive' })).id;
    ids.dario = (await contact(seg, 'Dario', null, { companyId: big.id })).id;
    await seg.json('POST', '/api/crm/deals', { title: 'Big deal', companyId: big.id, stage: 'proposal' });
    // Activity: Anna opened a campaign 3 days ago, Bruno clicked one 40 days ago; Carla wrote to us yesterday.
    await inTenant(filo.orm, systemActor(segTenant), async ({ em }) => {
      const send = (contactId: string, column: string, days: number) =>
        em.execute(
          `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, message_id, ${column})
           values (gen_random_uuid(), ?, 'campaign', gen_random_uuid(), ?, 'x@seg.example', gen_random_uuid()::text,
             now() - make_interval(days => ?))`,
          [segTenant, contactId, days],
        );
      await send(ids.anna!, 'opened_at', 3);
      await send(ids.bruno!, 'clicked_at', 40);
      const [{ seq }] = (await em.execute(
        `update tenants set activity_seq = activity_seq + 1 where id = ? returning activity_seq as seq`,
        [segTenant],
      )) as [{ seq: string }];
      await em.execute(
        `insert into activities (id, tenant_id, seq, entity_type, entity_id, activity_type, title, created_at)
         values (gen_random_uuid(), ?, ?, 'contact', ?, 'email.received', 'Email from Carla', now() - interval '1 day')`,
        [segTenant, seq, ids.carla],
      );
    });
  });

  const cond = (field: string, op: string, value?: unknown) => ({
    match: 'all',
    conditions: [{ field, op, ...(value === undefined ? {} : { value }) }],
  });
  const A = 'anna@seg.example';
  const B = 'bruno@seg.example';
  const C = 'carla@seg.example';

  it('matches every condition kind, with values as parameters', async () => {
    const cases: [unknown, string[]][] = [
      [cond('company.type', 'is', 'client'), [A]],
      [cond('company.type', 'is_not', 'client'), [B, C]],
      [cond('company.status', 'is', 'prospect'), [B]],
      [cond('company.tag', 'has', 'vip'), [A]],
      [cond('contact.tag', 'has', 'newsletter'), [A]],
      [cond('contact.tag', 'has_not', 'newsletter'), [B, C]],
      [cond('contact.status', 'is', 'inactive'), [C]],
      [cond('company.owner', 'empty'), [B, C]],
      [cond('company.owner', 'not_empty'), [A]],
      [cond('deal.stage', 'has', 'proposal'), [A]],
      [cond('deal.stage', 'has', 'won'), []],
      [cond('activity.opened', 'within_days', 30), [A]],
      [cond('activity.clicked', 'within_days', 30), []],
      [cond('activity.clicked', 'within_days', 60), [B]],
      [cond('activity.opened', 'not_within_days', 30), [B, C]],
      [cond('activity.email_received', 'within_days', 7), [C]],
      [cond('company.cf.employees', 'greater', 100), [A]],
      [cond('company.cf.employees', 'less', 100), [B]],
      [cond('company.cf.employees', 'equals', 5), [B]],
      [cond('contact.cf.city', 'equals', 'milano'), [A]],
      [cond('contact.cf.city', 'contains', 'om'), [B]],
      [cond('contact.cf.city', 'empty'), [C]],
      [cond('contact.cf.city', 'not_empty'), [A, B]],
      [cond('contact.cf.since', 'less', '2023-01-01'), [A]],
      [cond('contact.cf.vip', 'equals', true), [A]],
      [cond('contact.cf.interests', 'contains', 'wine'), [A]],
      // A value that would break string-built SQL is only ever a parameter.
      [cond('contact.cf.city', 'equals', "x' or '1'='1"), []],
      [cond('contact.tag', 'has', "a']::text[] or true or array['"), []],
      [
        {
          match: 'any',
          conditions: [
            { field: 'company.type', op: 'is', value: 'supplier' },
            { field: 'contact.status', op: 'is', value: 'inactive' },
          ],
        },
        [B, C],
      ],
      [
        {
          match: 'all',
          conditions: [
            { field: 'company.type', op: 'is', value: 'client' },
            { field: 'contact.cf.vip', op: 'equals', value: false },
          ],
        },
        [],
      ],
      [{ match: 'all', conditions: [] }, [A, B, C]],
    ];
    for (const [filter, expected] of cases) {
      const got = await segPreview(filter);
      expect({ filter, emails: emailsOf(got), count: got.count }).toEqual({
        filter,
        emails: expected,
        count: expected.length,
      });
    }
  });

  it('refuses bad filters with a 400 naming the condition', async () => {
    const bad = async (filter: unknown) => {
      const res = await seg.call('POST', '/api/newsletters/lists/preview', { filter });
      expect(res.status).toBe(400);
      const { error } = await body(res);
      expect(error.code).toBe('validation_failed');
      return error.fields as Record<string, string>;
    };
    expect(await bad(cond('company.colour', 'is', 'red'))).toHaveProperty(['filter.conditions.0.field']);
    expect(await bad(cond('company.type', 'contains', 'cli'))).toHaveProperty(['filter.conditions.0.op']);
    expect(await bad(cond('company.type', 'is', 'partner'))).toHaveProperty(['filter.conditions.0.value']);
    expect(await bad(cond('activity.opened', 'within_days', 0))).toHaveProperty(['filter.conditions.0.value']);
    expect(await bad(cond('company.owner', 'is', 'me'))).toHaveProperty(['filter.conditions.0.value']);
    expect(await bad(cond('contact.cf.shoe_size', 'equals', 42))).toEqual({
      'filter.conditions.0.field': 'no contact custom field is named "shoe_size"',
    });
    expect(await bad(cond('company.cf.employees', 'contains', '5'))).toHaveProperty(['filter.conditions.0.op']);
    expect(await bad(cond('company.cf.employees', 'greater', 'many'))).toHaveProperty(['filter.conditions.0.value']);
    expect(await bad({ match: 'some', conditions: [] })).toHaveProperty(['filter.match']);
    const tooMany = {
      match: 'all',
      conditions: Array.from({ length: 21 }, () => cond('company.type', 'is', 'client').conditions[0]),
    };
    expect(await bad(tooMany)).toHaveProperty(['filter.conditions']);
    // A segment saved with a bad filter is refused the same way, and nothing is stored.
    const res = await seg.call('POST', '/api/newsletters/lists', {
      name: 'Bad',
      kind: 'segment',
      filter: cond('contact.cf.shoe_size', 'equals', 42),
    });
    expect(res.status).toBe(400);
    expect((await seg.json('GET', '/api/newsletters/lists')).items).toEqual([]);
  });

  it('keeps a saved segment live: its count follows the CRM, and audienceQuery snapshots it', async () => {
    const segment = await seg.json('POST', '/api/newsletters/lists', {
      name: 'Clients',
      kind: 'segment',
      filter: cond('company.type', 'is', 'client'),
    });
    expect(segment).toMatchObject({ kind: 'segment', counts: { subscribed: 1 } });
    await contact(seg, 'Elena', 'elena@seg.example', { companyId: ids.big });
    expect((await seg.json('GET', `/api/newsletters/lists/${segment.id}`)).counts.subscribed).toBe(2);
    const members = await seg.json('GET', `/api/newsletters/lists/${segment.id}/members`);
    expect(members.items.map((m: { address: string }) => m.address)).toEqual([A, 'elena@seg.example']);
    const livePreview = await seg.json('GET', `/api/newsletters/lists/${segment.id}/preview`);
    expect(livePreview.count).toBe(2);
    const rows = await inTenant(filo.orm, systemActor(segTenant), async ({ em }) => {
      const q = await audienceQuery(em, segTenant, [segment.id]);
      return (await em.execute(q.sql, q.params)) as { address: string }[];
    });
    expect(rows.map((r) => r.address).sort()).toEqual([A, 'elena@seg.example']);
  });
});

describe('static lists', () => {
  let list: { id: string; version: number };
  let people: Record<string, { id: string }>;

  it('creates a list, adds CRM contacts with evidence, and keeps the counts on every change', async () => {
    list = await demo.json('POST', '/api/newsletters/lists', {
      name: 'Customers',
      description: 'Monthly news',
      kind: 'static',
      doubleOptIn: false,
      publicForm: true,
      consentText: 'I want the monthly news',
    });
    expect(list).toMatchObject({
      kind: 'static',
      filter: null,
      doubleOptIn: false,
      publicForm: true,
      counts: { subscribed: 0, unconfirmed: 0, unsubscribed: 0 },
      version: 1,
    });
    const acme = await company(demo, 'Lists Acme', { type: 'client' });
    people = {
      gina: await contact(demo, 'Gina', 'Gina@Lists.example', { companyId: acme.id }),
      hugo: await contact(demo, 'Hugo', 'hugo@lists.example', { companyId: acme.id }),
      ivo: await contact(demo, 'Ivo', null, { companyId: acme.id }),
      gone: await contact(demo, 'Gone', 'gone@lists.example'),
    };
    // Gone unsubscribed from everything earlier (the one-click link of another mailing).
    await inTenant(filo.orm, systemActor(tenantId), (uow) =>
      filo.services.consent.set(uow, {
        channel: 'email',
        address: 'gone@lists.example',
        listId: null,
        status: 'unsubscribed',
        source: 'one_click',
      }),
    );
    const added = await demo.json(
      'POST',
      `/api/newsletters/lists/${list.id}/members`,
      { contactIds: [people.gina!.id, people.ivo!.id, people.gone!.id] },
      200,
    );
    expect(added).toEqual({ added: 1, already: 0, noEmail: 1, suppressed: 1 });
    const again = await demo.json('POST', `/api/newsletters/lists/${list.id}/members`, { companyIds: [acme.id] }, 200);
    expect(again).toEqual({ added: 1, already: 1, noEmail: 1, suppressed: 0 });
    expect((await demo.json('GET', `/api/newsletters/lists/${list.id}`)).counts).toEqual({
      subscribed: 2,
      unconfirmed: 0,
      unsubscribed: 0,
    });
    const [row] = await sql<{ subscriber_count: number }>(
      tenantId,
      `select subscriber_count from mailing_lists where id = ?`,
      [list.id],
    );
    expect(row!.subscriber_count).toBe(2);

    // The evidence: source crm, who did it, from where; and the contact's timeline says so.
    const events = await sql<{ status: string; source: string; actor_id: string | null; ip: string | null }>(
      tenantId,
      `select e.status, e.source, e.actor_id, e.ip from consent_events e join consents c on c.id = e.consent_id
        where c.list_id = ? and c.contact_id = ?`,
      [list.id, people.gina!.id],
    );
    const me = (await demo.json('GET', '/api/auth/me')).user.id;
    expect(events).toEqual([{ status: 'subscribed', source: 'crm', actor_id: me, ip: expect.any(String) }]);
    const timeline = await demo.json('GET', `/api/crm/timeline?entityType=contact&entityId=${people.gina!.id}`);
    expect(timeline.items.map((a: { type: string }) => a.type)).toContain('consent.given');

    const members = await demo.json('GET', `/api/newsletters/lists/${list.id}/members`);
    expect(members.items).toEqual([
      expect.objectContaining({
        contactId: people.gina!.id,
        name: 'Gina Test',
        company: 'Lists Acme',
        address: 'gina@lists.example',
        status: 'subscribed',
        source: 'crm',
        signedUpAt: expect.any(String),
        confirmedAt: expect.any(String),
      }),
      expect.objectContaining({ contactId: people.hugo!.id, address: 'hugo@lists.example', status: 'subscribed' }),
    ]);
    // Keyset pages.
    const first = await demo.json('GET', `/api/newsletters/lists/${list.id}/members?limit=1`);
    expect(first.items.map((m: { address: string }) => m.address)).toEqual(['gina@lists.example']);
    const second = await demo.json(
      'GET',
      `/api/newsletters/lists/${list.id}/members?limit=1&cursor=${first.nextCursor}`,
    );
    expect(second.items.map((m: { address: string }) => m.address)).toEqual(['hugo@lists.example']);
    expect(second.nextCursor).toBeNull();
    expect((await demo.call('GET', `/api/newsletters/lists/${list.id}/members?cursor=nonsense`)).status).toBe(400);

    // Taken off: unsubscribed (source manual), kept as history; counted by whoever changes a consent.
    await demo.json('DELETE', `/api/newsletters/lists/${list.id}/members/${people.hugo!.id}`);
    expect((await demo.json('GET', `/api/newsletters/lists/${list.id}`)).counts).toEqual({
      subscribed: 1,
      unconfirmed: 0,
      unsubscribed: 1,
    });
    const unsub = await demo.json('GET', `/api/newsletters/lists/${list.id}/members?status=unsubscribed`);
    expect(unsub.items).toEqual([expect.objectContaining({ address: 'hugo@lists.example', source: 'manual' })]);
    await inTenant(filo.orm, systemActor(tenantId), (uow) =>
      filo.services.consent.set(uow, {
        channel: 'email',
        address: 'gina@lists.example',
        listId: list.id,
        status: 'unsubscribed',
        source: 'one_click',
      }),
    );
    expect((await demo.json('GET', `/api/newsletters/lists/${list.id}`)).counts.subscribed).toBe(0);
    // Re-adding from the CRM never re-subscribes someone who unsubscribed.
    const readd = await demo.json(
      'POST',
      `/api/newsletters/lists/${list.id}/members`,
      { contactIds: [people.gina!.id, people.hugo!.id] },
      200,
    );
    expect(readd).toEqual({ added: 0, already: 0, noEmail: 0, suppressed: 2 });
    expect((await demo.call('DELETE', `/api/newsletters/lists/${list.id}/members/${people.ivo!.id}`)).status).toBe(404);
  });

  it('adds everyone a saved view shows, and refuses bad member requests', async () => {
    const view = await demo.json('POST', '/api/crm/views', {
      entityType: 'company',
      name: 'Lists clients',
      filters: { q: 'Lists View', type: 'supplier' },
    });
    const supplier = await company(demo, 'Lists View Supplier', { type: 'supplier' });
    await company(demo, 'Lists View Client', { type: 'client' }).then((c) =>
      contact(demo, 'Client', 'client@lists-view.example', { companyId: c.id }),
    );
    await contact(demo, 'Sup', 'sup@lists-view.example', { companyId: supplier.id });
    const target = await demo.json('POST', '/api/newsletters/lists', { name: 'From a view' });
    const res = await demo.json('POST', `/api/newsletters/lists/${target.id}/members`, { savedViewId: view.id }, 200);
    expect(res).toEqual({ added: 1, already: 0, noEmail: 0, suppressed: 0 });
    const members = await demo.json('GET', `/api/newsletters/lists/${target.id}/members`);
    expect(members.items.map((m: { address: string }) => m.address)).toEqual(['sup@lists-view.example']);

    const bad = async (payload: unknown) =>
      (await demo.call('POST', `/api/newsletters/lists/${target.id}/members`, payload)).status;
    expect(await bad({})).toBe(400);
    expect(await bad({ contactIds: [], companyIds: [supplier.id] })).toBe(400);
    expect(await bad({ contactIds: Array.from({ length: 1001 }, () => supplier.id) })).toBe(400);
    expect(await bad({ contactIds: ['00000000-0000-4000-8000-000000000000'] })).toBe(404);
    const segment = await demo.json('POST', '/api/newsletters/lists', {
      name: 'A segment',
      kind: 'segment',
      filter: { match: 'all', conditions: [] },
    });
    expect(
      (await demo.call('POST', `/api/newsletters/lists/${segment.id}/members`, { contactIds: [supplier.id] })).status,
    ).toBe(409);
    expect((await demo.call('POST', '/api/newsletters/lists', { name: 'x', kind: 'segment' })).status).toBe(400);
    expect(
      (await demo.call('POST', '/api/newsletters/lists', { name: 'x', kind: 'static', filter: { conditions: [] } }))
        .status,
    ).toBe(400);
  });

  it('edits at a version (409 when stale), archives, and refuses to delete a list a campaign is sending to', async () => {
    const edited = await demo.json('PATCH', `/api/newsletters/lists/${list.id}`, {
      name: 'Customers (EU)',
      consentText: 'Yes, monthly',
      version: 1,
    });
    expect(edited).toMatchObject({ name: 'Customers (EU)', consentText: 'Yes, monthly', version: 2 });
    const stale = await demo.call('PATCH', `/api/newsletters/lists/${list.id}`, { name: 'Lost', version: 1 });
    expect(stale.status).toBe(409);
    const conflict = (await body(stale)).error;
    expect(conflict).toMatchObject({ code: 'version_conflict', current: { name: 'Customers (EU)', version: 2 } });
    const archived = await demo.json('PATCH', `/api/newsletters/lists/${list.id}`, { archived: true, version: 2 });
    expect(archived.archivedAt).toEqual(expect.any(String));
    const filterOnStatic = await demo.call('PATCH', `/api/newsletters/lists/${list.id}`, {
      filter: { match: 'all', conditions: [] },
      version: 3,
    });
    expect(filterOnStatic.status).toBe(400);

    await sql(
      tenantId,
      `insert into campaigns (id, tenant_id, name, status, list_ids, content) values (gen_random_uuid(), ?, 'Live', 'sending', ?::jsonb, '{}'::jsonb)`,
      [tenantId, JSON.stringify([list.id])],
    );
    const refused = await demo.call('DELETE', `/api/newsletters/lists/${list.id}`);
    expect(refused.status).toBe(409);
    expect((await body(refused)).error.code).toBe('list_in_use');
    const spare = await demo.json('POST', '/api/newsletters/lists', { name: 'Spare' });
    await demo.json('DELETE', `/api/newsletters/lists/${spare.id}`);
    expect((await demo.call('GET', `/api/newsletters/lists/${spare.id}`)).status).toBe(404);
  });
});

describe('subscriber_count', () => {
  it('follows statements that change many consents at once (inserts, updates, deletes)', async () => {
    const list = await demo.json('POST', '/api/newsletters/lists', { name: 'Counted' });
    const count = async () =>
      (
        await sql<{ n: number }>(tenantId, `select subscriber_count as n from mailing_lists where id = ?`, [list.id])
      )[0]!.n;
    await sql(
      tenantId,
      `insert into consents (id, tenant_id, channel, address, address_hash, list_id, status, source)
       select gen_random_uuid(), ?, 'email', 'n' || g || '@count.example', md5('n' || g), ?,
         case when g <= 3 then 'subscribed' else 'unconfirmed' end, 'import'
       from generate_series(1, 5) g`,
      [tenantId, list.id],
    );
    expect(await count()).toBe(3);
    await sql(tenantId, `update consents set status = 'subscribed' where list_id = ? and status = 'unconfirmed'`, [
      list.id,
    ]);
    expect(await count()).toBe(5);
    await sql(tenantId, `update consents set status = 'unsubscribed' where list_id = ? and address < 'n3'`, [list.id]);
    expect(await count()).toBe(3);
    // A change that leaves the status as it was changes nothing.
    await sql(tenantId, `update consents set source = 'manual' where list_id = ?`, [list.id]);
    expect(await count()).toBe(3);
    await sql(
      tenantId,
      `delete from consents where list_id = ? and address in ('n1@count.example', 'n5@count.example')`,
      [list.id],
    );
    expect(await count()).toBe(2);
    expect((await demo.json('GET', `/api/newsletters/lists/${list.id}`)).counts).toEqual({
      subscribed: 2,
      unconfirmed: 0,
      unsubscribed: 1,
    });
  });
});

describe('CSV import of subscribers', () => {
  const upload = async (c: ApiClient, listId: string, mapping: unknown, csv: string) => {
    const form = new FormData();
    if (mapping !== undefined) form.append('mapping', JSON.stringify(mapping));
    form.append('file', new Blob([csv]), 'subscribers.csv');
    return fetch(`${filo.baseUrl}/api/newsletters/lists/${listId}/import`, {
      method: 'POST',
      headers: { cookie: c.cookie, origin: filo.baseUrl },
      body: form,
    });
  };

  it('subscribes rows with their consent evidence, creates unknown contacts once, skips suppressed addresses', async () => {
    const list = await demo.json('POST', '/api/newsletters/lists', { name: 'Imported' });
    const known = await contact(demo, 'Known', 'Known@Import.example');
    await company(demo, 'Import Co');
    await inTenant(filo.orm, systemActor(tenantId), (uow) =>
      filo.services.consent.set(uow, {
        channel: 'email',
        address: 'bounced@import.example',
        listId: null,
        status: 'bounced',
        source: 'bounce',
      }),
    );
    const csv = [
      'E-mail,Nome,Cognome,Azienda,Data consenso,Fonte,IP,Testo,Ignored',
      'known@import.example,,,,2024-03-01,fiera,192.0.2.1,Voglio la newsletter,x',
      'new.person@import.example,New,Person,Import Co,2024-03-02,web,2001:db8::1,Voglio la newsletter,x',
      'not-an-email,Bad,Row,,,,,,x',
      'bounced@import.example,Bou,Nced,,,,,,x',
      'NEW.PERSON@import.example,Dup,Licate,,,,,,x',
      'late@import.example,Late,Date,,2999-01-01,,,,x',
      'badip@import.example,Bad,Ip,,,,999.1.1.1,,x',
    ].join('\n');
    const mapping = {
      'E-mail': 'email',
      Nome: 'first_name',
      Cognome: 'last_name',
      Azienda: 'company',
      'Data consenso': 'consent_date',
      Fonte: 'consent_source',
      IP: 'ip',
      Testo: 'consent_text',
    };
    const res = await upload(demo, list.id, mapping, csv);
    expect(res.status).toBe(202);
    const started = await body(res);
    expect(started).toMatchObject({ listId: list.id, status: 'queued', fileName: 'subscribers.csv' });
    let done: { status: string; [k: string]: unknown } = started;
    await expect
      .poll(async () => {
        done = await demo.json('GET', `/api/newsletters/lists/${list.id}/imports/${started.id}`);
        return done.status;
      })
      .toBe('completed');
    expect(done).toMatchObject({ totalRows: 7, processedRows: 7, createdRows: 2, skippedRows: 1 });
    const errors = done.errors as { line: number; message: string }[];
    expect(errors.map((e) => e.line)).toEqual([4, 7, 8, 5, 6]);
    expect(errors.find((e) => e.line === 5)!.message).toMatch(/Skipped: bounced/);
    expect(errors.find((e) => e.line === 6)!.message).toMatch(/earlier line/);

    // One contact per address: the known one reused (case-insensitive), the new one created with its company.
    const contacts = await sql<{ id: string; first_name: string; company: string | null }>(
      tenantId,
      `select ct.id, ct.first_name, co.name as company from contacts ct left join companies co on co.id = ct.company_id
        where lower(ct.email) in ('known@import.example', 'new.person@import.example') order by ct.first_name`,
    );
    expect(contacts).toEqual([
      { id: known.id, first_name: 'Known', company: null },
      { id: expect.any(String), first_name: 'New', company: 'Import Co' },
    ]);
    const evidence = await sql<Record<string, unknown>>(
      tenantId,
      `select address, status, source, ip, consent_text, to_char(signed_up_at, 'YYYY-MM-DD') as signed_up
         from consents where list_id = ? order by address`,
      [list.id],
    );
    expect(evidence).toEqual([
      {
        address: 'known@import.example',
        status: 'subscribed',
        source: 'import',
        ip: '192.0.2.1',
        consent_text: 'Voglio la newsletter\nSource: fiera',
        signed_up: '2024-03-01',
      },
      {
        address: 'new.person@import.example',
        status: 'subscribed',
        source: 'import',
        ip: '2001:db8::1',
        consent_text: 'Voglio la newsletter\nSource: web',
        signed_up: '2024-03-02',
      },
    ]);
    expect((await demo.json('GET', `/api/newsletters/lists/${list.id}`)).counts.subscribed).toBe(2);
    // The bounced address was not re-subscribed, and is still suppressed.
    expect(await sql(tenantId, `select status from consents where address = 'bounced@import.example'`)).toEqual([
      { status: 'bounced' },
    ]);
  });

  it('refuses an upload without a mapping to email, and another workspace cannot import into the list', async () => {
    const list = await demo.json('POST', '/api/newsletters/lists', { name: 'Import refusals' });
    const noEmail = await upload(demo, list.id, { Nome: 'first_name' }, 'Nome\nx\n');
    expect(noEmail.status).toBe(400);
    expect((await body(noEmail)).error.fields.mapping).toMatch(/email/);
    const noMapping = await upload(demo, list.id, undefined, 'email\nx@y.example\n');
    expect(noMapping.status).toBe(400);
    const badColumn = await upload(demo, list.id, { email: 'email', x: 'password' }, 'email\n');
    expect(badColumn.status).toBe(400);
    expect((await upload(other, list.id, { email: 'email' }, 'email\nx@y.example\n')).status).toBe(404);
    expect(
      await sql(tenantId, `select count(*)::int as n from subscriber_imports where list_id = ?`, [list.id]),
    ).toEqual([{ n: 0 }]);
  });
});

describe('tenant isolation', () => {
  it("answers 404 to every lists route with another workspace's ids", async () => {
    const list = await demo.json('POST', '/api/newsletters/lists', { name: 'Private list' });
    const who = await contact(demo, 'Private', 'private@lists.example');
    await demo.json('POST', `/api/newsletters/lists/${list.id}/members`, { contactIds: [who.id] }, 200);
    const calls: [string, string, unknown?][] = [
      ['GET', `/api/newsletters/lists/${list.id}`],
      ['PATCH', `/api/newsletters/lists/${list.id}`, { name: 'hijack', version: 1 }],
      ['DELETE', `/api/newsletters/lists/${list.id}`],
      ['GET', `/api/newsletters/lists/${list.id}/preview`],
      ['GET', `/api/newsletters/lists/${list.id}/members`],
      ['POST', `/api/newsletters/lists/${list.id}/members`, { contactIds: [who.id] }],
      ['DELETE', `/api/newsletters/lists/${list.id}/members/${who.id}`],
    ];
    for (const [method, path, payload] of calls) {
      const res = await other.call(method, path, payload);
      expect(`${method} ${path} -> ${res.status}`).toBe(`${method} ${path} -> 404`);
    }
    // Their own list cannot take our contacts either.
    const theirs = await other.json('POST', '/api/newsletters/lists', { name: 'Theirs' });
    expect(
      (await other.call('POST', `/api/newsletters/lists/${theirs.id}/members`, { contactIds: [who.id] })).status,
    ).toBe(404);
    expect((await other.json('GET', '/api/newsletters/lists')).items.map((l: { name: string }) => l.name)).toEqual([
      'Theirs',
    ]);
    expect((await demo.json('GET', `/api/newsletters/lists/${list.id}`)).counts.subscribed).toBe(1);
  });
});
