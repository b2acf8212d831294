import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markdownSnippet } from '../server/crm/search.service.ts';
import { withAdmin } from './support/postgres.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

interface Hit {
  type: string;
  id: string;
  title: string;
  subtitle: string | null;
  amount?: { value: string; currency: string } | null;
}

let filo: TestFilo;
let demo: ApiClient;
const find = async (q: string) =>
  (await demo.json<{ items: Hit[] }>('GET', `/api/search?q=${encodeURIComponent(q)}`)).items;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
});
afterAll(() => filo?.close());

describe('search for a misspelt company', () => {
  it('finds "Caseificio Gualtieri S.r.l." from "Gualteiri", like a misspelt contact', async () => {
    const c = await demo.json<{ id: string }>('POST', '/api/crm/companies', {
      name: 'Caseificio Gualtieri S.r.l.',
      type: 'client',
    });
    await demo.json('POST', '/api/crm/companies', { name: 'Officine Brambilla S.p.A.', type: 'supplier' });
    await demo.json('POST', '/api/crm/contacts', { companyId: c.id, firstName: 'Paolo', lastName: 'Brambilla' });
    const gualtieri = await find('Gualteiri');
    expect(gualtieri[0]).toMatchObject({ type: 'company', title: 'Caseificio Gualtieri S.r.l.' });
    expect(gualtieri.map((h) => h.title)).not.toContain('Officine Brambilla S.p.A.');
    expect((await find('brambila')).map((h) => h.type).sort()).toEqual(['company', 'contact']);
  });

  it('serves the word-similarity match from the trigram index in a workspace of 20,000 companies', async () => {
    const plan = await withAdmin(filo.config.databaseUrl!, async (db) => {
      await db.query('begin');
      const { rows } = await db.query<{ tenant_id: string }>(`select tenant_id from companies limit 1`);
      const tenant = rows[0]!.tenant_id;
      await db.query(
        `insert into companies (id, tenant_id, name, type)
         select gen_random_uuid(), $1, 'Azienda ' || md5(i::text), 'client' from generate_series(1, 20000) i`,
        [tenant],
      );
      await db.query('analyze companies');
      // The very statement of filo_search's typo branch for companies.
      const explained = await db.query<{ 'QUERY PLAN': string }>(
        `explain select c.id from companies c where (c.name % $1 or $1 <% c.name) and c.tenant_id = $2`,
        ['Gualteiri', tenant],
      );
      await db.query('rollback');
      return explained.rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('companies_name_trgm_index');
    expect(plan).not.toContain('Seq Scan');
  });
});

describe('search results', () => {
  it('give a deal its amount unformatted and a note its text without Markdown', async () => {
    const c = await demo.json<{ id: string }>('POST', '/api/crm/companies', {
      name: 'Latteria Sociale',
      type: 'client',
    });
    await demo.json('POST', '/api/crm/deals', {
      companyId: c.id,
      title: 'Fornitura mozzarelle',
      value: 185000,
      currency: 'EUR',
    });
    await demo.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: c.id,
      content: '## Visita\n\n**Mozzarelle** da _rivedere_:\n- prezzo\n- [listino](https://example.com/l)',
    });
    const hits = await find('mozzarelle');
    const deal = hits.find((h) => h.type === 'deal')!;
    expect(deal.amount).toEqual({ value: '185000.00', currency: 'EUR' });
    expect(deal.subtitle).not.toContain('185000');
    const note = hits.find((h) => h.type === 'note')!;
    expect(note.title).toBe('Visita Mozzarelle da rivedere: prezzo listino');
  });

  it('snippets keep the words and cut long text', () => {
    expect(markdownSnippet('1. **uno**\n2. `due`\n> tre ~~quattro~~')).toBe('uno due tre quattro');
    expect(markdownSnippet('snake_case_name and 2*3*4')).toBe('snake_case_name and 2*3*4');
    expect(markdownSnippet('a'.repeat(300))).toHaveLength(120);
  });
});
