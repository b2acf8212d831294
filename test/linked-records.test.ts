import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinkedRecord, LinkedUpsertResult } from '#contracts/linked-records';
import type { FullContext, SearchHit } from '#contracts/crm';
import type { Activity } from '#contracts/timeline';
import {
  apiClient,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';
import { LiveClient } from './support/live.ts';

/**
 * Linked records (issue 17): an external module with an API token upserts projects, invoices and production jobs
 * against CRM records, idempotently and last-write-wins by its own `updatedAt`; they show in full-context, search
 * and on the timeline (live), and the module posts notes and milestones.
 */
let filo: TestFilo;
let demo: ApiClient;
let erp: ApiClient;
let reader: ApiClient;
let other: ApiClient;
let company: { id: string };
let contact: { id: string };
let live: LiveClient;

const put = (c: ApiClient, path: string, payload: unknown) => c.call('PUT', `/api/linked-records/${path}`, payload);
const timeline = async (id: string) =>
  (await demo.json<{ items: Activity[] }>('GET', `/api/crm/timeline?entityType=company&entityId=${id}&limit=100`))
    .items;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  const full = await demo.json('POST', '/api/tokens', { name: 'ERP' });
  const read = await demo.json('POST', '/api/tokens', { name: 'Wall', scope: 'read' });
  erp = apiClient(filo.baseUrl, full.token, true);
  reader = apiClient(filo.baseUrl, read.token, true);
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Altrove',
      name: 'Al Trove',
      email: 'al@altrove.example',
      password: 'correct horse battery',
    }),
  );
  company = await demo.json('POST', '/api/crm/companies', { name: 'Officine Collegate', type: 'client' });
  contact = await demo.json('POST', '/api/crm/contacts', { companyId: company.id, firstName: 'Pia', lastName: 'Link' });
  live = new LiveClient(filo.baseUrl, { cookie: demo.cookie });
  await live.ready();
  await live.watch('company', company.id);
});
afterAll(async () => {
  live?.close();
  await filo?.close();
});

describe('upserts from an external module', () => {
  it('creates a project and an invoice once, idempotently, and tells the company’s timeline live', async () => {
    const project = {
      companyId: company.id,
      title: 'Revamping linea 3',
      status: 'In corso',
      state: 'active',
      amount: 48000,
      currency: 'EUR',
      startDate: '2026-11-01',
      dueDate: '2027-02-28',
      url: 'https://pm.example/projects/77',
      fields: { manager: 'Sara', phase: 2 },
      updatedAt: '2026-12-01T10:00:00Z',
    };
    const first = await put(erp, 'pm/project/PRJ-77', project);
    expect(first.status).toBe(201);
    const created = (await first.json()) as LinkedUpsertResult;
    expect(created.outcome).toBe('created');
    expect(created.record).toMatchObject({
      kind: 'project',
      source: 'pm',
      externalId: 'PRJ-77',
      amount: '48000.00',
      tab: 'projects',
      dueDate: '2027-02-28',
      companyId: company.id,
      fields: { manager: 'Sara', phase: 2 },
    });
    // The same state again: nothing changes, no second timeline entry.
    const again = await put(erp, 'pm/project/PRJ-77', project);
    expect(again.status).toBe(200);
    expect(((await again.json()) as LinkedUpsertResult).outcome).toBe('unchanged');

    const invoice = {
      contactId: contact.id,
      title: 'Fattura acconto',
      status: 'Emessa',
      state: 'pending',
      amount: '12500.5',
      currency: 'EUR',
      issuedDate: '2026-12-01',
      dueDate: '2026-12-31',
      updatedAt: '2026-12-01T11:00:00+01:00',
    };
    expect((await put(erp, 'accounting/invoice/FT%2F2026%2F118', invoice)).status).toBe(201);
    const repeat = await erp.json<LinkedUpsertResult>(
      'PUT',
      '/api/linked-records/accounting/invoice/FT%2F2026%2F118',
      invoice,
    );
    expect(repeat.outcome).toBe('unchanged');
    // A contact's invoice is its company's too.
    expect(repeat.record).toMatchObject({ externalId: 'FT/2026/118', amount: '12500.50', companyId: company.id });

    const entries = (await timeline(company.id)).filter((a) => a.type === 'linked_record.created');
    expect(entries.map((a) => a.data.title).sort()).toEqual(['Fattura acconto', 'Revamping linea 3']);
    // The invoice's entry is on the contact's timeline, shown on its company's.
    expect(entries.find((a) => a.data.title === 'Fattura acconto')).toMatchObject({ entityType: 'contact' });
    await live.until(
      () =>
        live.activities.filter((a) => a.type === 'linked_record.created' && a.companyId === company.id).length === 2,
    );
  });

  it('ignores an update older than the stored one (last write wins by the source’s updatedAt)', async () => {
    const base = { companyId: company.id, title: 'Stampo 12', currency: 'EUR', amount: 900 };
    await erp.json(
      'PUT',
      '/api/linked-records/mes/production_job/JOB-12',
      {
        ...base,
        state: 'pending',
        status: 'In coda',
        updatedAt: '2026-12-02T08:00:00Z',
      },
      201,
    );
    const newer = await erp.json<LinkedUpsertResult>('PUT', '/api/linked-records/mes/production_job/JOB-12', {
      ...base,
      state: 'active',
      status: 'In lavorazione',
      updatedAt: '2026-12-02T09:00:00Z',
    });
    expect(newer.outcome).toBe('updated');
    // The 08:30 change arrives after the 09:00 one: it is answered stale and changes nothing.
    const late = await erp.json<LinkedUpsertResult>('PUT', '/api/linked-records/mes/production_job/JOB-12', {
      ...base,
      state: 'pending',
      status: 'Sospeso',
      amount: 1,
      updatedAt: '2026-12-02T08:30:00Z',
    });
    expect(late.outcome).toBe('stale');
    expect(late.record).toMatchObject({ status: 'In lavorazione', state: 'active', amount: '900.00' });
    const stored = await demo.json<LinkedRecord>('GET', '/api/linked-records/mes/production_job/JOB-12');
    expect(stored).toMatchObject({ status: 'In lavorazione', sourceUpdatedAt: '2026-12-02T09:00:00.000Z' });
    const changes = (await timeline(company.id)).filter(
      (a) => a.type === 'linked_record.status_changed' && a.data.externalId === 'JOB-12',
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]!.data).toMatchObject({ status: 'In lavorazione', from: { status: 'In coda', state: 'pending' } });
    // Another field alone is an `updated` entry naming it.
    const moved = await erp.json<LinkedUpsertResult>('PUT', '/api/linked-records/mes/production_job/JOB-12', {
      ...base,
      amount: 950,
      state: 'active',
      status: 'In lavorazione',
      updatedAt: '2026-12-02T10:00:00Z',
    });
    expect(moved.outcome).toBe('updated');
    const updated = (await timeline(company.id)).find((a) => a.type === 'linked_record.updated');
    expect(updated?.data).toMatchObject({ externalId: 'JOB-12', changes: ['amount'] });
  });

  it('refuses bad input with codes and writes nothing', async () => {
    const ok = { companyId: company.id, title: 'x' };
    const cases: [string, unknown, number, string][] = [
      ['pm/project/BAD-1', { ...ok, url: 'javascript:alert(1)' }, 400, 'validation_failed'],
      ['pm/project/BAD-2', { title: 'no record' }, 400, 'validation_failed'],
      ['pm/project/BAD-3', { ...ok, amount: 10 }, 400, 'validation_failed'],
      ['pm/project/BAD-4', { ...ok, dueDate: '31/12/2026' }, 400, 'validation_failed'],
      ['pm/project/BAD-5', { ...ok, fields: { big: 'x'.repeat(2001) } }, 400, 'validation_failed'],
      ['pm/rocket/BAD-6', ok, 400, 'unknown_kind'],
      ['p m/project/BAD-7', ok, 400, 'validation_failed'],
      ['pm/project/BAD-8', { ...ok, companyId: '00000000-0000-4000-8000-000000000000' }, 404, 'not_found'],
    ];
    for (const [path, payload, status, code] of cases) {
      const res = await put(erp, path, payload);
      expect(`${path} ${res.status} ${await errorCode(res)}`).toBe(`${path} ${status} ${code}`);
    }
    const all = await demo.json<{ items: LinkedRecord[] }>('GET', '/api/linked-records?limit=200');
    expect(all.items.filter((r) => r.externalId.startsWith('BAD-'))).toEqual([]);
  });

  it('lets a read token read but never write, and another workspace see nothing', async () => {
    const res = await put(reader, 'pm/project/RO-1', { companyId: company.id, title: 'Read only' });
    expect(res.status).toBe(403);
    const list = await reader.json<{ items: LinkedRecord[] }>('GET', `/api/linked-records?companyId=${company.id}`);
    expect(list.items.map((r) => r.externalId).sort()).toEqual(['FT/2026/118', 'JOB-12', 'PRJ-77']);
    const project = list.items.find((r) => r.externalId === 'PRJ-77')!;
    expect((await other.call('GET', `/api/linked-records/${project.id}`)).status).toBe(404);
    expect((await other.call('GET', '/api/linked-records/pm/project/PRJ-77')).status).toBe(404);
    expect((await other.json('GET', '/api/linked-records')).items).toEqual([]);
    // Upserting against our company from elsewhere finds no such company.
    expect((await put(other, 'pm/project/PRJ-77', { companyId: company.id, title: 'hijack' })).status).toBe(404);
    expect((await other.call('GET', `/api/linked-records?companyId=${company.id}`)).status).toBe(404);
    expect((await demo.json<LinkedRecord>('GET', `/api/linked-records/${project.id}`)).title).toBe('Revamping linea 3');
  });
});

describe('full-context, search, notes and milestones', () => {
  it('returns the open projects, pending invoices and production jobs of the company', async () => {
    // A finished project is not active.
    await erp.json(
      'PUT',
      '/api/linked-records/pm/project/PRJ-1',
      {
        companyId: company.id,
        title: 'Progetto chiuso',
        state: 'done',
      },
      201,
    );
    for (const client of [demo, erp, reader]) {
      const ctx = await client.json<FullContext>('GET', `/api/crm/companies/${company.id}/full-context`);
      expect(ctx.activeProjects?.map((r) => r.externalId)).toEqual(['PRJ-77']);
      expect(ctx.pendingInvoices?.map((r) => r.externalId)).toEqual(['FT/2026/118']);
      expect(ctx.productionJobs?.map((r) => ({ id: r.externalId, status: r.status }))).toEqual([
        { id: 'JOB-12', status: 'In lavorazione' },
      ]);
    }
    // A token granted projects (and the CRM) only: no invoice or production list, no invoice in the lists either.
    const scoped = await demo.json('POST', '/api/tokens', {
      name: 'PM only',
      grants: [
        { family: 'crm', access: 'read' },
        { family: 'linked', access: 'write', kind: 'project' },
      ],
    });
    const pm = apiClient(filo.baseUrl, scoped.token, true);
    const narrow = await pm.json<FullContext>('GET', `/api/crm/companies/${company.id}/full-context`);
    expect(narrow.activeProjects?.map((r) => r.externalId)).toEqual(['PRJ-77']);
    expect(narrow).not.toHaveProperty('pendingInvoices');
    expect(narrow).not.toHaveProperty('productionJobs');
    const theirs = await pm.json<{ items: LinkedRecord[] }>('GET', `/api/linked-records?companyId=${company.id}`);
    expect(new Set(theirs.items.map((r) => r.kind))).toEqual(new Set(['project']));
    const invoiceId = (await demo.json<LinkedRecord>('GET', '/api/linked-records/accounting/invoice/FT%2F2026%2F118'))
      .id;
    expect((await pm.call('GET', `/api/linked-records/${invoiceId}`)).status).toBe(404);
    expect(await errorCode(await pm.call('GET', '/api/linked-records?kind=invoice'))).toBe('insufficient_scope');
    const denied = await put(pm, 'accounting/invoice/FT-9', { companyId: company.id, title: 'x' });
    expect([denied.status, await errorCode(denied)]).toEqual([403, 'insufficient_scope']);
    expect(
      (await put(pm, 'pm/project/PRJ-78', { companyId: company.id, title: 'Linea 4', state: 'pending' })).status,
    ).toBe(201);
    expect((await pm.json<{ items: SearchHit[] }>('GET', '/api/search?q=acconto')).items).toEqual([]);
    // A paid invoice leaves the pending list.
    await erp.json('PUT', '/api/linked-records/accounting/invoice/FT%2F2026%2F118', {
      contactId: contact.id,
      title: 'Fattura acconto',
      status: 'Pagata',
      state: 'done',
      amount: '12500.50',
      currency: 'EUR',
      updatedAt: '2026-12-03T09:00:00Z',
    });
    const after = await demo.json<FullContext>('GET', `/api/crm/companies/${company.id}/full-context`);
    expect(after.pendingInvoices).toEqual([]);
  });

  it('a workspace kind shows in its tab’s list; search finds records by title and external id', async () => {
    const kind = await demo.json('POST', '/api/linked-records/kinds', {
      key: 'quote',
      label: 'Preventivo',
      tab: 'invoices',
    });
    expect(
      (await put(erp, 'crm2/quote/Q-5', { companyId: company.id, title: 'Offerta ricambi', state: 'pending' })).status,
    ).toBe(201);
    const ctx = await demo.json<FullContext>('GET', `/api/crm/companies/${company.id}/full-context`);
    expect(ctx.pendingInvoices?.map((r) => [r.kind, r.tab])).toEqual([['quote', 'invoices']]);
    // A kind in use stays; members cannot define kinds.
    const inUse = await demo.call('DELETE', `/api/linked-records/kinds/${kind.id}`);
    expect([inUse.status, await errorCode(inUse)]).toEqual([400, 'kind_in_use']);
    const luca = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }),
    );
    expect(
      (await luca.call('POST', '/api/linked-records/kinds', { key: 'ticket', label: 'T', tab: 'projects' })).status,
    ).toBe(403);

    const byTitle = await demo.json<{ items: SearchHit[] }>('GET', '/api/search?q=revamp');
    expect(byTitle.items.find((h) => h.type === 'linked_record')).toMatchObject({
      title: 'Revamping linea 3',
      companyId: company.id,
      tab: 'projects',
    });
    const byId = await reader.json<{ items: SearchHit[] }>('GET', '/api/search?q=JOB-12');
    expect(byId.items.filter((h) => h.type === 'linked_record').map((h) => h.title)).toEqual(['Stampo 12']);
    expect((await other.json<{ items: SearchHit[] }>('GET', '/api/search?q=revamp')).items).toEqual([]);
  });

  it('takes notes of the seed’s types and milestones from the module’s token, on the timeline', async () => {
    const note = await erp.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      noteType: 'production',
      content: 'Collaudo stampo 12 superato',
    });
    expect(note.noteType).toBe('production');
    const accounting = await erp.json('POST', '/api/crm/notes', {
      entityType: 'contact',
      entityId: contact.id,
      noteType: 'accounting',
      content: 'Pagamento a 60 giorni',
    });
    expect(accounting.noteType).toBe('accounting');
    const job = await demo.json<LinkedRecord>('GET', '/api/linked-records/mes/production_job/JOB-12');
    const event = await erp.json<Activity>('POST', `/api/linked-records/${job.id}/events`, {
      title: 'Fase di tempra completata',
      occurredAt: '2026-12-04T15:00:00Z',
    });
    expect(event).toMatchObject({ type: 'linked_record.event', companyId: company.id });
    expect((await reader.call('POST', `/api/linked-records/${job.id}/events`, { title: 'x' })).status).toBe(403);
    await live.until(() => live.activities.some((a) => a.type === 'linked_record.event'));
    const types = (await timeline(company.id)).map((a) => a.type);
    expect(types).toContain('linked_record.event');
    expect(types.filter((t) => t === 'note.added')).toHaveLength(2);
  });

  it('removes a record with a timeline entry, and pages by cursor', async () => {
    const first = await demo.json<{ items: LinkedRecord[]; nextCursor: string | null }>(
      'GET',
      `/api/linked-records?companyId=${company.id}&limit=2`,
    );
    expect(first.items).toHaveLength(2);
    const rest = await demo.json<{ items: LinkedRecord[] }>(
      'GET',
      `/api/linked-records?companyId=${company.id}&limit=50&cursor=${first.nextCursor}`,
    );
    const all = [...first.items, ...rest.items].map((r) => r.externalId).sort();
    expect(all).toEqual(['FT/2026/118', 'JOB-12', 'PRJ-1', 'PRJ-77', 'PRJ-78', 'Q-5']);
    expect(await errorCode(await demo.call('GET', '/api/linked-records?cursor=forged'))).toBe('invalid_cursor');
    const done = first.items.find((r) => r.externalId === 'PRJ-1') ?? rest.items.find((r) => r.externalId === 'PRJ-1')!;
    await erp.json('DELETE', `/api/linked-records/${done.id}`);
    expect((await demo.call('GET', `/api/linked-records/${done.id}`)).status).toBe(404);
    expect((await timeline(company.id)).some((a) => a.type === 'linked_record.deleted')).toBe(true);
  });
});
