import pg from 'pg';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../server/delivery/mailer.ts';
import {
  apiClient,
  body,
  DEMO,
  errorCode,
  login,
  signupLinkToken,
  startTestFilo,
  type TestFilo,
} from './support/harness.ts';

let filo: TestFilo;
let db: pg.Client;

beforeAll(async () => {
  filo = await startTestFilo({ PUBLIC_URL: 'http://crm.filo.test' });
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await filo?.close();
});

// Requests come from loopback, a trusted proxy: X-Forwarded-For stands for the client's address.
const post = (path: string, payload: unknown, ip: string) =>
  fetch(`${filo.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: filo.baseUrl, 'x-forwarded-for': ip },
    body: JSON.stringify(payload),
  });
const signup = (email: string, ip: string, extra: Record<string, string> = {}) =>
  post(
    '/api/auth/signup',
    { workspace: 'Nuovo Studio', name: 'Nina Nuova', email, password: 'a long enough secret', ...extra },
    ip,
  );
const confirm = (token: string, ip = '203.0.113.60') => post('/api/auth/signup/confirm', { token }, ip);

const count = async (sql: string, params: unknown[] = []) =>
  Number((await db.query<{ n: string }>(`select count(*) as n from (${sql}) q`, params)).rows[0]!.n);
const accounts = () => count(`select 1 from users`);
const workspaces = () => count(`select 1 from tenants`);

/** The parsed mails of the outbox sent to `email`, oldest first. */
async function mailsTo(email: string) {
  const mails = [];
  for (const { raw } of readOutbox(filo.services.mailer.outboxDir!)) {
    const mail = await simpleParser(raw);
    if (mail.to && !Array.isArray(mail.to) && mail.to.text === email) mails.push(mail);
  }
  return mails;
}

const linkFor = async (email: string) => {
  await expect.poll(() => signupLinkToken(filo.services.mailer.outboxDir!, email)).toBeTruthy();
  return (await signupLinkToken(filo.services.mailer.outboxDir!, email))!;
};

/** What a client can see of an answer, but for the headers that differ on every response anyway. */
async function visible(res: Response) {
  const headers = [...res.headers].filter(([name]) => !['date', 'x-request-id'].includes(name));
  return { status: res.status, headers, body: await res.text() };
}

describe('sign-up answers alike for new and taken addresses', () => {
  it('202 check_inbox with the same headers and no cookie, whether or not the address has an account', async () => {
    const fresh = await visible(await signup('alike@new.example', '203.0.113.50'));
    const taken = await visible(await signup('luca@filo.local', '203.0.113.51'));
    expect(fresh.status).toBe(202);
    expect(JSON.parse(fresh.body)).toEqual({ status: 'check_inbox' });
    expect(fresh.headers.map(([name]) => name)).not.toContain('set-cookie');
    expect(taken).toEqual(fresh);
  });

  it('tells the owner of a taken address, creates nothing and never changes that account’s password', async () => {
    const [users, tenants] = [await accounts(), await workspaces()];
    const res = await signup('Sara@Filo.local', '198.51.100.121', { password: 'the takeover password' });
    expect(res.status).toBe(202);
    await expect.poll(async () => (await mailsTo('sara@filo.local')).length).toBe(1);
    const [warning] = await mailsTo('sara@filo.local');
    expect(warning!.subject).toBe('Someone tried to sign up to Filo with your address');
    expect(warning!.text).toContain('198.51.100.121');
    expect(warning!.text).toContain('http://crm.filo.test/login');
    expect(warning!.text).not.toMatch(/signup\/confirm/);
    expect([await accounts(), await workspaces()]).toEqual([users, tenants]);
    expect(await count(`select 1 from pending_signups where email = 'sara@filo.local'`)).toBe(0);
    expect(
      (await post('/api/auth/login', { email: 'sara@filo.local', password: 'the takeover password' }, '203.0.113.52'))
        .status,
    ).toBe(401);
    expect((await login(filo.baseUrl, { email: 'sara@filo.local', password: DEMO.password })).length).toBeGreaterThan(
      0,
    );
  });
});

describe('confirming a sign-up', () => {
  it('mails a new address a link (without the password); the link signs in and creates exactly one workspace', async () => {
    const [users, tenants] = [await accounts(), await workspaces()];
    const res = await signup('Nina@New.example', '203.0.113.53');
    expect(res.status).toBe(202);
    const token = await linkFor('nina@new.example');
    const [mail] = await mailsTo('nina@new.example');
    expect(mail!.subject).toBe('Confirm your new Filo workspace');
    expect(mail!.text).toContain(`http://crm.filo.test/signup/confirm#token=${token}`);
    expect(mail!.text).not.toContain('a long enough secret');
    // Nothing exists until the link is followed.
    expect([await accounts(), await workspaces()]).toEqual([users, tenants]);

    const confirmed = await confirm(token);
    expect(confirmed.status).toBe(201);
    const me = await body(confirmed);
    expect(me).toMatchObject({ role: 'owner', user: { email: 'nina@new.example', name: 'Nina Nuova' } });
    expect(me.workspace).toMatchObject({ name: 'Nuovo Studio' });
    expect(me.workspace.slug).toMatch(/^nuovo-studio-[0-9a-f]{6}$/);
    const cookie = confirmed.headers.get('set-cookie')!.split(';')[0]!;
    expect(await apiClient(filo.baseUrl, cookie).json('GET', '/api/auth/me')).toMatchObject({ role: 'owner' });
    expect([await accounts(), await workspaces()]).toEqual([users + 1, tenants + 1]);
    expect(
      (await login(filo.baseUrl, { email: 'nina@new.example', password: 'a long enough secret' })).length,
    ).toBeGreaterThan(0);
  });

  it('a link works once: confirming it twice, even at the same time, creates nothing twice', async () => {
    expect((await signup('twice@new.example', '203.0.113.54')).status).toBe(202);
    const token = await linkFor('twice@new.example');
    const [users, tenants] = [await accounts(), await workspaces()];
    const answers = await Promise.all([confirm(token), confirm(token), confirm(token)]);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 410, 410]);
    for (const r of answers.filter((a) => a.status === 410)) expect(await errorCode(r)).toBe('signup_link_used');
    const again = await confirm(token);
    expect(again.status).toBe(410);
    expect(await errorCode(again)).toBe('signup_link_used');
    expect(again.headers.get('set-cookie')).toBeNull();
    expect([await accounts(), await workspaces()]).toEqual([users + 1, tenants + 1]);
  });

  it('a second link for an address that has meanwhile got an account creates nothing', async () => {
    expect((await signup('race@new.example', '203.0.113.55')).status).toBe(202);
    const first = await linkFor('race@new.example');
    expect((await signup('race@new.example', '203.0.113.55', { workspace: 'Second Try' })).status).toBe(202);
    await expect.poll(() => signupLinkToken(filo.services.mailer.outboxDir!, 'race@new.example')).not.toBe(first);
    const second = (await signupLinkToken(filo.services.mailer.outboxDir!, 'race@new.example'))!;
    expect((await confirm(first)).status).toBe(201);
    const [users, tenants] = [await accounts(), await workspaces()];
    const late = await confirm(second);
    expect(late.status).toBe(409);
    expect(await errorCode(late)).toBe('email_taken');
    expect([await accounts(), await workspaces()]).toEqual([users, tenants]);
    expect(await count(`select 1 from tenants where name = 'Second Try'`)).toBe(0);
  });

  it('refuses an expired link and a forged one, each with its code, and creates nothing', async () => {
    expect((await signup('late@new.example', '203.0.113.56')).status).toBe(202);
    const token = await linkFor('late@new.example');
    await db.query(`update pending_signups set expires_at = now() - interval '1 minute' where email = $1`, [
      'late@new.example',
    ]);
    const [users, tenants] = [await accounts(), await workspaces()];
    const expired = await confirm(token);
    expect(expired.status).toBe(410);
    expect(await errorCode(expired)).toBe('signup_link_expired');
    const forged = await confirm(`${token.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(400);
    expect(await errorCode(forged)).toBe('signup_link_invalid');
    const malformed = await confirm('short');
    expect(malformed.status).toBe(400);
    expect(await errorCode(malformed)).toBe('validation_failed');
    expect([await accounts(), await workspaces()]).toEqual([users, tenants]);
    expect(await count(`select 1 from users where email = 'late@new.example'`)).toBe(0);
  });
});

describe('sign-up limits', () => {
  it('mails one address a few links an hour whoever asks, answering alike; one address may ask ten times an hour', async () => {
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'])
      expect((await signup('flood@new.example', ip)).status).toBe(202);
    await expect.poll(async () => (await mailsTo('flood@new.example')).length).toBe(3);
    // The fourth was refused before its answer (no mail in flight): the count stays.
    expect(await count(`select 1 from pending_signups where email = 'flood@new.example'`)).toBe(3);

    const statuses = [];
    for (let i = 0; i < 11; i++) statuses.push((await signup(`ip${i}@new.example`, '192.0.2.99')).status);
    expect(statuses.slice(0, 10).every((s) => s === 202)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});
