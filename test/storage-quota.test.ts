import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, body, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

let filo: TestFilo;
let demo: ApiClient;
const MB = 1024 * 1024;

beforeAll(async () => {
  filo = await startTestFilo({ STORAGE_QUOTA_MB: '2' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
});
afterAll(() => filo?.close());

function upload(entityId: string, name: string, size: number) {
  const form = new FormData();
  form.append('entityType', 'company');
  form.append('entityId', entityId);
  form.append('file', new Blob([new Uint8Array(size).fill(7)]), name);
  return fetch(`${filo.baseUrl}/api/crm/documents`, {
    method: 'POST',
    headers: { cookie: demo.cookie, origin: filo.baseUrl },
    body: form,
  });
}

describe('storage quota per workspace', () => {
  it('refuses an upload past STORAGE_QUOTA_MB with 413 storage_quota_exceeded, keeps nothing, and frees space on delete', async () => {
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Quota Srl', type: 'client' });
    const before = await demo.json('GET', '/api/storage/usage');
    expect(before.limitBytes).toBe(2 * MB);
    const first = await upload(company.id, 'first.bin', 1.5 * MB - before.usedBytes);
    expect(first.status).toBe(201);
    const firstDoc = await body(first);
    expect((await demo.json('GET', '/api/storage/usage')).usedBytes).toBe(1.5 * MB);

    const over = await upload(company.id, 'second.bin', MB);
    expect(over.status).toBe(413);
    expect((await body(over)).error.code).toBe('storage_quota_exceeded');
    const listed = await demo.json('GET', `/api/crm/documents?entityType=company&entityId=${company.id}`);
    expect(listed.items.map((d: { fileName: string }) => d.fileName)).toEqual(['first.bin']);
    expect((await demo.json('GET', '/api/storage/usage')).usedBytes).toBe(1.5 * MB);
    const blobs = readdirSync(`${filo.config.dataDir}/blobs`, { recursive: true }) as string[];
    expect(blobs.filter((f) => f.endsWith('.part'))).toEqual([]);

    // Two uploads that each fit alone but not together: exactly one is kept.
    const both = await Promise.all([upload(company.id, 'a.bin', 0.4 * MB), upload(company.id, 'b.bin', 0.4 * MB)]);
    expect(both.map((r) => r.status).sort()).toEqual([201, 413]);

    await demo.json('DELETE', `/api/crm/documents/${firstDoc.id}`);
    expect((await upload(company.id, 'after.bin', MB)).status).toBe(201);
  });
});
