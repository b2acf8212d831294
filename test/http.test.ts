import { createHash } from 'node:crypto';
import { Agent, get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body, errorCode, login, startTestFilo, type TestFilo } from './support/harness.ts';

let filo: TestFilo;
beforeAll(async () => {
  filo = await startTestFilo();
});
afterAll(() => filo?.close());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${filo.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: filo.baseUrl, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('caching', () => {
  it('keeps API answers out of caches (no-store, no ETag), and lets pictures say otherwise', async () => {
    const cookie = await login(filo.baseUrl);
    const me = await fetch(`${filo.baseUrl}/api/auth/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect(me.headers.get('etag')).toBeNull();
    const refused = await fetch(`${filo.baseUrl}/api/crm/companies`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    const { user } = (await me.json()) as { user: { id: string } };
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
      'base64',
    );
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'me.png');
    const upload = await fetch(`${filo.baseUrl}/api/auth/me/avatar`, {
      method: 'POST',
      headers: { cookie, origin: filo.baseUrl },
      body: form,
    });
    expect(upload.status).toBe(200);
    const picture = await fetch(`${filo.baseUrl}/api/users/${user.id}/avatar`, { headers: { cookie } });
    expect(picture.status).toBe(200);
    expect(picture.headers.get('cache-control')).toBe('private, max-age=86400');
  });
});

describe('health', () => {
  it('answers /healthz', async () => {
    const res = await fetch(`${filo.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({ status: 'ok' });
  });

  it('answers /readyz with each check', async () => {
    const res = await fetch(`${filo.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok' } });
  });

  it('echoes a well-formed X-Request-Id and generates one otherwise', async () => {
    const given = await fetch(`${filo.baseUrl}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-123');
    const bad = await fetch(`${filo.baseUrl}/healthz`, { headers: { 'x-request-id': 'no spaces <allowed>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps an idle connection 65 s (longer than a proxy in front), and says so to the client', async () => {
    const agent = new Agent({ keepAlive: true });
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) =>
      get(`${filo.baseUrl}/healthz`, { agent }, (res) => {
        res.resume();
        resolve(res.headers);
      }).on('error', reject),
    ).finally(() => agent.destroy());
    expect(headers.connection).toBe('keep-alive');
    expect(headers['keep-alive']).toBe('timeout=65');
  });

  it('sends nosniff on every response', async () => {
    const res = await fetch(`${filo.baseUrl}/api/nothing-here`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('API errors', () => {
  it('answers an unknown API route with a JSON 404', async () => {
    const res = await fetch(`${filo.baseUrl}/api/nothing-here`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('not_found');
  });

  it('refuses malformed JSON with invalid_json', async () => {
    const res = await post('/api/auth/login', '{"email": ');
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('invalid_json');
  });

  it('refuses a body over 1 MB with 413', async () => {
    const res = await post('/api/auth/login', { email: 'a@b.co', password: 'x'.repeat(1_100_000) });
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe('payload_too_large');
  });

  it('names each invalid field', async () => {
    const res = await post('/api/auth/login', { email: 'not-an-email' });
    expect(res.status).toBe(400);
    const { error } = await body(res);
    expect(error.code).toBe('validation_failed');
    expect(Object.keys(error.fields).sort()).toEqual(['email', 'password']);
  });
});

describe('sessions', () => {
  it('refuses a wrong password and an unknown email alike', async () => {
    for (const body of [
      { email: 'demo@filo.local', password: 'wrong' },
      { email: 'nobody@filo.local', password: 'filo-demo' },
    ]) {
      const res = await post('/api/auth/login', body);
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe('invalid_credentials');
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });

  it('signs in with a case-insensitive email, sets an httpOnly SameSite=Lax cookie, and knows who is signed in', async () => {
    const res = await post('/api/auth/login', { email: 'Demo@Filo.Local', password: 'filo-demo' });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^filo_session=[\w-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    const cookie = setCookie.split(';')[0]!;
    const me = await fetch(`${filo.baseUrl}/api/auth/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await body(me)).toMatchObject({
      user: { email: 'demo@filo.local', name: 'Demo Owner' },
      workspace: { slug: 'demo', name: 'Filo Demo' },
      role: 'owner',
    });
  });

  it('stores only a hash of the session token', async () => {
    const cookie = await login(filo.baseUrl);
    const token = cookie.split('=')[1]!;
    const rows = await filo.orm.em.getConnection().execute<{ token_hash: string }[]>(`select token_hash from sessions`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.token_hash)).not.toContain(token);
    expect(rows.map((r) => r.token_hash)).toContain(createHash('sha256').update(token).digest('hex'));
  });

  it('answers /me with 401 without a session, and after logout', async () => {
    expect((await fetch(`${filo.baseUrl}/api/auth/me`)).status).toBe(401);
    const cookie = await login(filo.baseUrl);
    const out = await post('/api/auth/logout', {}, { cookie });
    expect(out.status).toBe(204);
    const me = await fetch(`${filo.baseUrl}/api/auth/me`, { headers: { cookie } });
    expect(me.status).toBe(401);
    expect(await errorCode(me)).toBe('unauthorized');
  });

  it('refuses a cookie-authenticated write from another origin (CSRF) and keeps the session', async () => {
    const cookie = await login(filo.baseUrl);
    const forged = await post('/api/auth/logout', {}, { cookie, origin: 'https://evil.example' });
    expect(forged.status).toBe(403);
    expect(await errorCode(forged)).toBe('csrf_rejected');
    const noOrigin = await fetch(`${filo.baseUrl}/api/auth/logout`, { method: 'POST', headers: { cookie } });
    expect(noOrigin.status).toBe(403);
    expect((await fetch(`${filo.baseUrl}/api/auth/me`, { headers: { cookie } })).status).toBe(200);
  });
});

describe('profile', () => {
  it('keeps each user’s language and name on the server', async () => {
    const cookie = await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' });
    const patch = (payload: unknown) =>
      fetch(`${filo.baseUrl}/api/auth/me`, {
        method: 'PATCH',
        headers: { cookie, origin: filo.baseUrl, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
    expect((await body(await fetch(`${filo.baseUrl}/api/auth/me`, { headers: { cookie } }))).user.locale).toBeNull();
    expect((await patch({ locale: 'it' })).status).toBe(200);
    expect((await patch({ locale: 'fr' })).status).toBe(400);
    const me = await body(await fetch(`${filo.baseUrl}/api/auth/me`, { headers: { cookie } }));
    expect(me.user).toMatchObject({ locale: 'it', name: 'Luca Verdi' });
  });
});
