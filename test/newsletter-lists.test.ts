import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceQuery, listsOf } from '../server/newsletters/audience.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, login, signUp, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

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
