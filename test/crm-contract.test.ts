import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_TYPES } from '#contracts/common';
import {
  company,
  contact,
  CUSTOM_FIELD_TYPES,
  customFieldList,
  deal,
  DEAL_STAGES,
  fullContext,
  pipeline,
  searchResults,
} from '#contracts/crm';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * The CRM API against contracts/crm.ts: every route declares what it takes and answers, and answers in both of
 * their shapes (a new row leaves out the nulls it was not given, a read one has them all) parse with it. The
 * harness also checks every JSON answer against its route's schema (FILO_CHECK_RESPONSES=1).
 */

let filo: TestFilo;
let owner: ApiClient;

beforeAll(async () => {
  filo = await startTestFilo();
  owner = apiClient(filo.baseUrl, await login(filo.baseUrl));
});

afterAll(async () => {
  await filo?.close();
});

const crmRoute = (path: string) => path.startsWith('/api/crm') || path === '/api/search';

describe('the CRM contract', () => {
  it('is declared on every CRM route and on search: a summary, an answer, and 201/202 where they create', () => {
    const routes = filo.routes.filter((r) => crmRoute(r.path) && r.path !== '/api/crm/timeline');
    expect(routes.length).toBeGreaterThanOrEqual(30);
    const undeclared = routes.filter((r) => !r.spec?.summary || !r.spec.response).map((r) => `${r.method} ${r.path}`);
    expect(undeclared).toEqual([]);
    const statuses = Object.fromEntries(
      routes.filter((r) => r.spec?.status).map((r) => [`${r.method} ${r.path}`, r.spec!.status]),
    );
    expect(statuses).toEqual({
      'post /api/crm/companies': 201,
      'post /api/crm/contacts': 201,
      'post /api/crm/deals': 201,
      'post /api/crm/views': 201,
      'post /api/crm/notes': 201,
      'post /api/crm/custom-fields': 201,
      'post /api/crm/documents': 201,
      'post /api/crm/imports': 202,
      'post /api/crm/calls': 201,
    });
    const files = routes.filter((r) => typeof r.spec?.response === 'object' && 'file' in r.spec.response);
    expect(files.map((r) => r.path).sort()).toEqual(
      [
        '/api/crm/companies/export.csv',
        '/api/crm/contacts/export.csv',
        '/api/crm/documents/:id/download',
        '/api/crm/imports/:id/rejected.csv',
      ].sort(),
    );
    const empty = routes.filter((r) => r.spec?.response === 'empty').map((r) => `${r.method} ${r.path}`);
    expect(empty).toHaveLength(7);
    expect(empty.every((r) => r.startsWith('delete '))).toBe(true);
  });

  it('describes a record as created (nulls left out) and as read (every column)', async () => {
    const created = await owner.json('POST', '/api/crm/companies', { name: 'Contract Srl', type: 'supplier' });
    expect(created).not.toHaveProperty('vatNumber');
    expect(company.parse(created)).toMatchObject({ name: 'Contract Srl', type: 'supplier', version: 1 });
    const read = company.parse(await owner.json('GET', `/api/crm/companies/${created.id}`));
    expect(read).toMatchObject({ vatNumber: null, size: null, billingAddress: null });

    const person = await owner.json('POST', '/api/crm/contacts', {
      companyId: created.id,
      firstName: 'Ada',
      lastName: 'Contratti',
      birthday: '1990-02-03',
    });
    expect(contact.parse(person).birthday).toBe('1990-02-03');
    expect(contact.parse(await owner.json('GET', `/api/crm/contacts/${person.id}`))).toMatchObject({
      emailBouncedAt: null,
    });

    const opportunity = await owner.json('POST', '/api/crm/deals', { companyId: created.id, title: 'T', value: 10 });
    expect(deal.parse(opportunity)).toMatchObject({ value: '10.00', stage: 'lead', currency: 'EUR' });

    await owner.json('POST', '/api/crm/notes', { entityType: 'contact', entityId: person.id, content: 'hello' });
    const context = fullContext.parse(await owner.json('GET', `/api/crm/companies/${created.id}/full-context`));
    expect(context.contacts.map((c) => c.id)).toEqual([person.id]);
    expect(context.deals.map((d) => d.id)).toEqual([opportunity.id]);
    expect(context.recentNotes).toMatchObject([{ entityType: 'contact', content: 'hello', version: 1 }]);
    expect(context.recentActivities.length).toBeGreaterThanOrEqual(3);
  });

  it('takes and answers the enums it declares: every deal stage, every custom field kind', async () => {
    const board = await owner.json('POST', '/api/crm/companies', { name: 'Stages Spa', type: 'client' });
    for (const stage of DEAL_STAGES)
      await owner.json('POST', '/api/crm/deals', { companyId: board.id, title: stage, stage });
    const stages = pipeline.parse(await owner.json('GET', `/api/crm/pipeline?companyId=${board.id}`)).stages;
    expect(stages.map((s) => s.stage)).toEqual([...DEAL_STAGES]);
    expect(stages.every((s) => s.count === 1)).toBe(true);

    for (const [i, fieldType] of CUSTOM_FIELD_TYPES.entries()) {
      const select = fieldType === 'select' || fieldType === 'multiselect';
      await owner.json('POST', '/api/crm/custom-fields', {
        entityType: RECORD_TYPES[i % RECORD_TYPES.length],
        fieldName: `kind_${fieldType}`,
        fieldLabel: fieldType,
        fieldType,
        ...(select ? { fieldOptions: ['a', 'b'] } : {}),
      });
    }
    const defs = customFieldList.parse(await owner.json('GET', '/api/crm/custom-fields')).items;
    expect(defs.map((d) => d.fieldType).sort()).toEqual([...CUSTOM_FIELD_TYPES].sort());
  });

  it('describes search hits of every kind', async () => {
    const acme = await owner.json('POST', '/api/crm/companies', { name: 'Zebracontract Srl', type: 'client' });
    await owner.json('POST', '/api/crm/contacts', { companyId: acme.id, firstName: 'Zebracontract', lastName: 'X' });
    await owner.json('POST', '/api/crm/deals', { companyId: acme.id, title: 'Zebracontract deal' });
    await owner.json('POST', '/api/crm/notes', { entityType: 'company', entityId: acme.id, content: 'Zebracontract' });
    const { items } = searchResults.parse(await owner.json('GET', '/api/search?q=zebracontract'));
    const mine = items.filter((h) => h.companyId === acme.id);
    expect(mine.map((h) => h.type).sort()).toEqual(['company', 'contact', 'deal', 'note']);
  });

  it('never tells where a document or an import file is stored, nor its workspace', async () => {
    const acme = await owner.json('POST', '/api/crm/companies', { name: 'Storage Keys Srl', type: 'client' });
    const post = async (path: string, fields: Record<string, string>, name: string, content: string) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append('file', new Blob([content]), name);
      const res = await fetch(`${filo.baseUrl}${path}`, {
        method: 'POST',
        headers: { cookie: owner.cookie, origin: filo.baseUrl },
        body: form,
      });
      return (await res.json()) as Record<string, unknown>;
    };
    const uploaded = await post('/api/crm/documents', { entityType: 'company', entityId: acme.id }, 'a.txt', 'hello');
    const started = await post(
      '/api/crm/imports',
      { entityType: 'company' },
      'a.csv',
      'name,type\nKeys Import,client\n',
    );
    const answers = [
      uploaded,
      (await owner.json('GET', `/api/crm/documents?entityType=company&entityId=${acme.id}`)).items[0],
      // As sent, not as parsed: a schema would strip what it does not name.
      ...(await owner.json('GET', `/api/crm/companies/${acme.id}/full-context`)).documents,
      started,
      await owner.json('GET', `/api/crm/imports/${started.id}`),
    ];
    expect(answers.map((a) => typeof a.id)).toEqual(['string', 'string', 'string', 'string', 'string']);
    for (const answer of answers) {
      expect(answer).not.toHaveProperty('fileUrl');
      expect(answer).not.toHaveProperty('tenantId');
      expect(JSON.stringify(answer)).not.toMatch(/blob:/);
    }
  });
});
