import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdmin } from './support/postgres.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * filo_search reads a bounded number of candidates per table and tier (see its migration, search_bounded): the
 * exact name, then names with every word whole, then mere prefixes. These are the promises that bounding keeps.
 */
interface Hit {
  type: string;
  title: string;
  rank: number;
}

let filo: TestFilo;
let demo: ApiClient;
let tenantId: string;
const find = async (q: string, limit = 20) =>
  (await demo.json<{ items: Hit[] }>('GET', `/api/search?q=${encodeURIComponent(q)}&limit=${limit}`)).items;

/** Rows straight into the demo workspace, in this order on the heap (the prefix matches first, as the old rows). */
const insert = (sql: string, values: unknown[] = []) =>
  withAdmin(filo.config.databaseUrl!, (db) => db.query(sql, [tenantId, ...values]));

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  tenantId = await withAdmin(filo.config.databaseUrl!, async (db) => {
    const { rows } = await db.query<{ tenant_id: string }>(
      `select m.tenant_id from memberships m join users u on u.id = m.user_id where u.email = 'demo@filo.local'`,
    );
    return rows[0]!.tenant_id;
  });
});
afterAll(() => filo?.close());

describe('search ranking among many prefix matches', () => {
  it('puts the exact name first, then names with the word whole (shorter first), then mere prefixes', async () => {
    await insert(
      `insert into companies (id, tenant_id, name, type)
       select gen_random_uuid(), $1, 'LANIFICIOAA ' || i, 'client' from generate_series(1, 300) i`,
    );
    // The 300 are shorter and first from A to Z, yet mere prefixes of the word. These come after them on the
    // heap: a scan that stopped at the first rows it met would not see them.
    for (const name of ['Lanificio Rossi e Figli', 'Lanificio Biella', 'LANIFICIO'])
      await demo.json('POST', '/api/crm/companies', { name, type: 'client' });

    const hits = await find('lanificio');
    expect(hits).toHaveLength(20);
    expect(hits.slice(0, 3).map((h) => h.title)).toEqual(['LANIFICIO', 'Lanificio Biella', 'Lanificio Rossi e Figli']);
    expect(hits.slice(3).every((h) => h.title.startsWith('LANIFICIOAA '))).toBe(true);
    const ranks = hits.map((h) => h.rank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    // Whole words outrank a mere prefix however the candidates were sampled.
    expect(hits[2]!.rank).toBeGreaterThan(hits[3]!.rank);
  });

  it('finds a contact by exact full name among 300 contacts whose names only start like it', async () => {
    await insert(
      `insert into contacts (id, tenant_id, first_name, last_name)
       select gen_random_uuid(), $1, 'ANNALISA', 'NERINA' || i from generate_series(1, 300) i`,
    );
    await demo.json('POST', '/api/crm/contacts', { firstName: 'Anna', lastName: 'Neri' });
    const hits = await find('anna  neri', 5);
    expect(hits[0]).toMatchObject({ type: 'contact', title: 'Anna Neri' });
    expect(hits.slice(1).every((h) => h.title.startsWith('ANNALISA NERINA'))).toBe(true);
  });

  it('does not pad a name found whole with look-alikes, and still corrects a typo', async () => {
    await demo.json('POST', '/api/crm/contacts', { firstName: 'Ottavio', lastName: 'Zanardelli' });
    await demo.json('POST', '/api/crm/contacts', { firstName: 'Ottavia', lastName: 'Zanardello' });
    expect((await find('Ottavio Zanardelli')).map((h) => h.title)).toEqual(['Ottavio Zanardelli']);
    // No word matches whole or as a prefix: the trigram fallback finds both.
    expect((await find('Otavio Zanardeli')).map((h) => h.title).sort()).toEqual([
      'Ottavia Zanardello',
      'Ottavio Zanardelli',
    ]);
  });
});
