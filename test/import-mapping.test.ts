import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { apiClient, body, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { guessMapping } from '../server/crm/import-fields.ts';
import { companyKey, mapRow } from '../server/crm/import-rows.ts';

/** CSV import (issue 20): the mapping step, dedupe, human row errors, bare domains, field reasons in 400s. */

let filo: TestFilo;
let demo: ApiClient;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
});
afterAll(() => filo?.close());

function upload(path: string, fields: Record<string, string>, csv: string) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'rubrica.csv');
  return fetch(`${filo.baseUrl}/api/crm${path}`, {
    method: 'POST',
    headers: { cookie: demo.cookie, origin: filo.baseUrl },
    body: form,
  });
}

async function runImport(fields: Record<string, string>, csv: string) {
  const res = await upload('/imports', fields, csv);
  expect(res.status).toBe(202);
  const { id } = await body(res);
  await expect
    .poll(async () => (await demo.json('GET', `/api/crm/imports/${id}`)).status, { timeout: 30_000, interval: 100 })
    .toBe('completed');
  return demo.json('GET', `/api/crm/imports/${id}`);
}

const companyNamed = async (q: string) =>
  (await demo.json('GET', `/api/crm/companies?q=${encodeURIComponent(q)}&limit=200`)).items;

describe('the mapping step', () => {
  it('guesses fields from ordinary Italian and English headers, each field once', () => {
    expect(
      guessMapping(
        'company',
        ['Ragione sociale', 'P. IVA', 'Sito web', 'Città', 'CAP', 'Telefono', 'Codice fiscale', 'Fatturato'],
        [],
      ),
    ).toEqual(['name', 'vatNumber', 'website', 'billingCity', 'billingPostalCode', null, 'taxCode', 'annualRevenue']);
    expect(guessMapping('company', ['Company name', 'VAT number', 'Website', 'Domain', 'Country', 'Name'], [])).toEqual(
      ['name', 'vatNumber', 'website', 'domain', 'billingCountry', null],
    );
    expect(
      guessMapping('contact', ['Nome', 'Cognome', 'E-mail', 'Telefono', 'Cellulare', 'Azienda', 'Ruolo'], []),
    ).toEqual(['firstName', 'lastName', 'email', 'phone', 'mobile', 'company', 'role']);
    expect(
      guessMapping(
        'contact',
        ['Full name', 'Email address', 'Phone', 'Company name', 'Job title', 'first_name'],
        [{ fieldName: 'codice_cliente', fieldLabel: 'Codice cliente' }],
      ),
    ).toEqual(['fullName', 'email', 'phone', 'company', 'role', 'firstName']);
    expect(
      guessMapping(
        'contact',
        ['Codice cliente', 'cf.altro'],
        [{ fieldName: 'codice_cliente', fieldLabel: 'Codice cliente' }],
      ),
    ).toEqual(['cf.codice_cliente', 'cf.altro']);
  });

  it('reads day-first birthdays, European amounts and yes/no cells as they are meant', () => {
    expect(mapRow(['firstName', 'birthday', 'isPrimary', null], ['Anna', '31/03/1980', 'sì', 'x']).input).toEqual({
      firstName: 'Anna',
      birthday: '1980-03-31',
      isPrimary: true,
    });
    expect(mapRow(['name', 'annualRevenue', 'domain'], ['A', '€ 1.250.000,50', 'acme.com']).input).toEqual({
      name: 'A',
      annualRevenue: '1250000.50',
      website: 'acme.com',
    });
  });

  it('treats legal suffixes, case, accents and punctuation as the same company name', () => {
    expect(companyKey('Acme S.p.A.')).toBe(companyKey('ACME spa'));
    expect(companyKey('Acmé SpA')).toBe('acme');
    expect(companyKey('Rossi & C. S.n.c.')).toBe('rossi');
    expect(companyKey('Globex Ltd')).toBe(companyKey('globex limited'));
    expect(companyKey('Acme Industries')).not.toBe(companyKey('Acme'));
  });

  it('previews the header and the first 5 rows with the proposed mapping, labelled in the language asked', async () => {
    const rows = Array.from({ length: 8 }, (_, i) => `Anteprima ${i} Srl,IT0${i},anteprima${i}.it,Torino`);
    const csv = ['Ragione sociale,P. IVA,Sito web,Città', ...rows].join('\n');
    const res = await upload('/imports/preview?lang=it', { entityType: 'company' }, csv);
    expect(res.status).toBe(200);
    const preview = await body(res);
    expect(preview.columns).toEqual([
      { header: 'Ragione sociale', field: 'name' },
      { header: 'P. IVA', field: 'vatNumber' },
      { header: 'Sito web', field: 'website' },
      { header: 'Città', field: 'billingCity' },
    ]);
    expect(preview.rows).toHaveLength(5);
    expect(preview.rows[4]).toEqual(['Anteprima 4 Srl', 'IT04', 'anteprima4.it', 'Torino']);
    expect(preview.more).toBe(true);
    expect(preview.fields).toContainEqual({ key: 'vatNumber', label: 'Partita IVA' });
    // Nothing was imported by a preview.
    expect(await companyNamed('Anteprima')).toEqual([]);
  });

  it('refuses a mapping that feeds a field twice or names no name, and a file too wide to preview', async () => {
    const csv = 'A,B\nx,y\n';
    const twice = await upload('/imports', { entityType: 'company', mapping: '["name","name"]' }, csv);
    expect(twice.status).toBe(400);
    expect((await body(twice)).error.fields.mapping).toMatch(/more than one column/);
    const nameless = await upload('/imports', { entityType: 'company', mapping: '["website",null]' }, csv);
    expect((await body(nameless)).error.fields.mapping).toMatch(/name/);
    const header = Array.from({ length: 600 }, (_, i) => `c${i}`).join(',');
    const wide = await upload('/imports/preview', { entityType: 'company' }, `${header}\n`);
    expect(wide.status).toBe(400);
    expect((await body(wide)).error.code).toBe('too_many_columns');
  });

  it('imports through the chosen mapping: ignored columns, a bare domain as https, a custom field', async () => {
    await demo.json('POST', '/api/crm/custom-fields', {
      entityType: 'company',
      fieldName: 'codice_cliente',
      fieldLabel: 'Codice cliente',
      fieldType: 'text',
    });
    const csv = [
      'Ragione sociale,Note interne,Dominio,Codice',
      'Mappata Uno Srl,da non importare,mappata-uno.it,C-001',
      'Mappata Due Srl,,www.mappata-due.com,C-002',
    ].join('\n');
    const done = await runImport(
      { entityType: 'company', mapping: JSON.stringify(['name', null, 'domain', 'cf.codice_cliente']) },
      csv,
    );
    expect(done).toMatchObject({ createdRows: 2, updatedRows: 0, skippedRows: 0, errors: [] });
    const [uno] = await companyNamed('Mappata Uno');
    expect(uno).toMatchObject({
      website: 'https://mappata-uno.it',
      type: 'client',
      customFields: { codice_cliente: 'C-001' },
    });
    expect(JSON.stringify(uno)).not.toContain('da non importare');
    expect((await companyNamed('Mappata Due'))[0].website).toBe('https://www.mappata-due.com');
  });
});

describe('duplicates', () => {
  const csv = [
    'Company name,Website,Industry',
    'ACME spa,,Robotica',
    'Nuova Beta,https://www.dedupe-gamma.example,Logistica',
    'Dedupe Delta Srl,,Tessile',
    'dedupe delta s.r.l.,,Moda',
  ].join('\n');

  it('skips companies already there by name or domain, and repeats within the file; the data stays', async () => {
    await demo.json('POST', '/api/crm/companies', { name: 'Acme S.p.A.', type: 'client', industry: 'Meccanica' });
    await demo.json('POST', '/api/crm/companies', {
      name: 'Dedupe Gamma',
      type: 'supplier',
      website: 'dedupe-gamma.example',
      industry: 'Trasporti',
    });
    const done = await runImport({ entityType: 'company', onDuplicate: 'skip' }, csv);
    expect(done).toMatchObject({ totalRows: 4, createdRows: 1, skippedRows: 3, updatedRows: 0, errors: [] });
    expect((await companyNamed('Acme')).map((c: { name: string }) => c.name)).toEqual(['Acme S.p.A.']);
    expect((await companyNamed('Acme'))[0].industry).toBe('Meccanica');
    expect((await companyNamed('Dedupe Gamma'))[0].industry).toBe('Trasporti');
    expect(await companyNamed('Nuova Beta')).toEqual([]);
    const deltas = await companyNamed('Dedupe Delta');
    expect(deltas.map((c: { industry: string }) => c.industry)).toEqual(['Tessile']);
  });

  it('updates them instead when asked, creating nothing new', async () => {
    const done = await runImport({ entityType: 'company', onDuplicate: 'update' }, csv);
    expect(done).toMatchObject({ createdRows: 0, updatedRows: 4, skippedRows: 0, errors: [] });
    const acme = await companyNamed('Acme');
    expect(acme).toHaveLength(1);
    expect(acme[0]).toMatchObject({ name: 'ACME spa', industry: 'Robotica', type: 'client' });
    expect(await companyNamed('Dedupe Gamma')).toEqual([]);
    expect((await companyNamed('Nuova Beta'))[0]).toMatchObject({ industry: 'Logistica', type: 'supplier' });
    expect((await companyNamed('Dedupe Delta'))[0].industry).toBe('Moda');
  });

  it('dedupes contacts by email whatever its case, linking them to a company named loosely', async () => {
    const csv = [
      'Nome,Cognome,E-mail,Azienda',
      'Giulia,Doppia,giulia.doppia@example.it,Acme spa',
      'Giulia,Doppia,GIULIA.DOPPIA@example.it,Acme spa',
    ].join('\n');
    const first = await runImport({ entityType: 'contact' }, csv);
    expect(first).toMatchObject({ createdRows: 1, skippedRows: 1 });
    const again = await runImport({ entityType: 'contact', onDuplicate: 'update' }, csv.replace(/Acme spa/g, ''));
    expect(again).toMatchObject({ createdRows: 0, updatedRows: 2 });
    const found = (await demo.json('GET', '/api/crm/contacts?q=giulia.doppia')).items;
    expect(found).toHaveLength(1);
    expect(found[0].companyId).toBe((await companyNamed('Acme'))[0].id);
  });
});

describe('row errors in words', () => {
  let id: string;
  const csv = [
    'Nome,Cognome,E-mail,Sito',
    'Mario,Bene,mario.bene@example.it,',
    'Mario,Rossi,mario@,',
    ',Senza,,',
    'Luca,Link,luca.link@example.it,non è un sito',
  ].join('\n');

  it('says what is wrong with each row in the language asked, never the validator text', async () => {
    const done = await runImport(
      { entityType: 'contact', mapping: JSON.stringify(['firstName', 'lastName', 'email', 'linkedinUrl']) },
      csv,
    );
    id = done.id;
    expect(done.createdRows).toBe(1);
    expect(done.errors.map((e: { message: string }) => e.message)).toEqual([
      'Row 3: the email “mario@” is not a valid address',
      'Row 4: First name is required',
      'Row 5: LinkedIn “non è un sito” is not a web address (such as acme.com)',
    ]);
    const it = await demo.json('GET', `/api/crm/imports/${id}?lang=it`);
    expect(it.errors.map((e: { message: string }) => e.message)).toEqual([
      'Riga 3: l’email “mario@” non è un indirizzo valido',
      'Riga 4: Nome è obbligatorio',
      'Riga 5: LinkedIn “non è un sito” non è un indirizzo web (come acme.com)',
    ]);
    expect(it.errors[0].problems).toEqual([{ field: 'email', reason: 'invalid_email', value: 'mario@' }]);
  });

  it('gives the bad rows back as CSV, as in the file, with an error column', async () => {
    const res = await demo.call('GET', `/api/crm/imports/${id}/rejected.csv?lang=it`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = parse((await res.text()).replace(/^\uFEFF/, '')) as string[][];
    expect(rows).toEqual([
      ['Nome', 'Cognome', 'E-mail', 'Sito', 'Errore'],
      ['Mario', 'Rossi', 'mario@', '', 'Riga 3: l’email “mario@” non è un indirizzo valido'],
      ['', 'Senza', '', '', 'Riga 4: Nome è obbligatorio'],
      ['Luca', 'Link', 'luca.link@example.it', 'non è un sito', expect.stringMatching(/^Riga 5: LinkedIn/)],
    ]);
    const stranger = await demo.call('GET', `/api/crm/imports/${crypto.randomUUID()}/rejected.csv`);
    expect(stranger.status).toBe(404);
  });
});

describe('bare domains and field reasons in the API', () => {
  it('stores acme.com and www.acme.com as https addresses, on create and on edit', async () => {
    const a = await demo.json('POST', '/api/crm/companies', {
      name: 'Bare Uno',
      type: 'client',
      website: 'bare-uno.com',
    });
    expect(a.website).toBe('https://bare-uno.com');
    const b = await demo.json('PATCH', `/api/crm/companies/${a.id}`, { website: 'www.bare-uno.com/chi-siamo' });
    expect(b.website).toBe('https://www.bare-uno.com/chi-siamo');
    const kept = await demo.json('PATCH', `/api/crm/companies/${a.id}`, { website: 'http://bare-uno.com' });
    expect(kept.website).toBe('http://bare-uno.com');
  });

  it('answers each bad field with a reason the forms can word', async () => {
    const res = await demo.call('POST', '/api/crm/companies', {
      name: '',
      type: 'client',
      website: 'not a site',
      vatNumber: 'x'.repeat(60),
    });
    expect(res.status).toBe(400);
    const { error } = await body(res);
    expect(error.issues).toEqual({
      name: { reason: 'required' },
      website: { reason: 'invalid_url' },
      vatNumber: { reason: 'too_long', limit: 50 },
    });
    const contact = await demo.call('POST', '/api/crm/contacts', { firstName: 'A', lastName: 'B', email: 'mario@' });
    expect((await body(contact)).error.issues).toEqual({ email: { reason: 'invalid_email' } });
    // A custom field's hand-written message gets its reason too.
    await demo.json('POST', '/api/crm/custom-fields', {
      entityType: 'deal',
      fieldName: 'budget',
      fieldLabel: 'Budget',
      fieldType: 'number',
    });
    const deal = await demo.call('POST', '/api/crm/deals', { title: 'D', customFields: { budget: 'tanti' } });
    expect((await body(deal)).error.issues).toEqual({ 'customFields.budget': { reason: 'invalid_number' } });
  });
});
