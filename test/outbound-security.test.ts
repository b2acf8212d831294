import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../server/mail/mailer.ts';
import { apiClient, body, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * Outbound mail that a workspace controls must not reach further than its own: per-workspace budgets of
 * invitation mail, SMTP settings that cannot leak the stored password or probe the operator's network, sending
 * addresses only on verified domains, click redirects only to what was genuinely sent.
 */

let filo: TestFilo;
let demo: ApiClient;

/** A query as the database owner (no row-level security), to see what was stored. */
async function sql<T>(text: string, values: unknown[] = []): Promise<T[]> {
  const db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  try {
    return (await db.query(text, values)).rows as T[];
  } finally {
    await db.end();
  }
}

async function signup(workspace: string, email: string): Promise<ApiClient> {
  const res = await fetch(`${filo.baseUrl}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: filo.baseUrl },
    body: JSON.stringify({ workspace, name: 'Other Owner', email, password: 'correct horse battery staple' }),
  });
  expect(res.status).toBe(201);
  return apiClient(filo.baseUrl, res.headers.get('set-cookie')!.split(';')[0]!);
}

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
});
afterAll(() => filo?.close());

describe('invitation mail', () => {
  it('is limited per workspace: over the budget 429 send_limited with Retry-After, nothing stored; others unaffected', async () => {
    for (let i = 0; i < 30; i++)
      await demo.json('POST', '/api/team/invitations', { email: `invitee${i}@example.test`, role: 'member' });
    const over = await demo.call('POST', '/api/team/invitations', {
      email: 'one-too-many@example.test',
      role: 'member',
    });
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await body(over)).error.code).toBe('send_limited');
    const outbox = readOutbox(filo.services.mailer.outboxDir!).map((m) => m.raw);
    expect(outbox.filter((raw) => /^To: invitee\d+@example\.test$/m.test(raw))).toHaveLength(30);
    expect(outbox.some((raw) => raw.includes('one-too-many@example.test'))).toBe(false);
    const invited = await sql<{ email: string }>(`select email from invitations where email like '%@example.test'`);
    expect(invited.map((r) => r.email)).toContain('invitee0@example.test');
    expect(invited.map((r) => r.email)).not.toContain('one-too-many@example.test');

    const other = await signup('Altro Spazio', 'owner@altro.example');
    await other.json('POST', '/api/team/invitations', { email: 'fine@example.test', role: 'member' });
  });
});
