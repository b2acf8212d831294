import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../server/app.ts';
import { readOutbox } from '../server/delivery/mailer.ts';
import {
  apiClient,
  body,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

let filo: TestFilo;
let demo: ApiClient;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
});
afterAll(() => filo?.close());

// Requests come from loopback, a trusted proxy: X-Forwarded-For stands for the client's address.
const post = (path: string, payload: unknown, ip: string, headers: Record<string, string> = {}) =>
  fetch(`${filo.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: filo.baseUrl, 'x-forwarded-for': ip, ...headers },
    body: JSON.stringify(payload),
  });
const signIn = (email: string, password: string, ip: string) => post('/api/auth/login', { email, password }, ip);

async function invite(email: string, role = 'member') {
  return demo.json('POST', '/api/team/invitations', { email, role }) as Promise<{ token: string }>;
}

describe('sign-in throttling', () => {
  it('locks an account only for the address that keeps failing, with a growing lock, and the owner still signs in', async () => {
    const attacker = '198.51.100.7';
    for (let i = 0; i < 10; i++) expect((await signIn('sara@filo.local', 'wrong', attacker)).status).toBe(401);
    const locked = await signIn('sara@filo.local', 'filo-demo', attacker);
    expect(locked.status).toBe(429);
    const first = Number(locked.headers.get('retry-after'));
    expect(first).toBeGreaterThan(0);
    // The real user, elsewhere, is not locked out.
    expect((await signIn('sara@filo.local', 'filo-demo', '203.0.113.20')).status).toBe(200);
  });

  it('counts only failures per address: many successful sign-ins from one office never hit the limit', async () => {
    const office = '192.0.2.55';
    for (let i = 0; i < 40; i++) {
      const res = await signIn('mario@filo.local', 'filo-demo', office);
      expect(`${i}: ${res.status}`).toBe(`${i}: 200`);
    }
  });

  it('doubles the lock after each further failure (backoff), clock-driven', async () => {
    const { CredentialLimiter } = await import('../server/auth/credential-limiter.ts');
    let now = 1_000_000;
    const limiter = new CredentialLimiter({ freeFailures: 3, baseLockMs: 1000, maxLockMs: 8000 }, () => now);
    const lockedFor = () => {
      try {
        limiter.check('1.2.3.4', 'a@x');
        return 0;
      } catch (err) {
        return (err as { retryAfter: number }).retryAfter;
      }
    };
    for (let i = 0; i < 3; i++) limiter.failed('1.2.3.4', 'a@x');
    expect(lockedFor()).toBe(1);
    expect(() => limiter.check('5.6.7.8', 'a@x')).not.toThrow();
    const waits = [];
    for (let i = 0; i < 4; i++) {
      now += 60_000;
      limiter.failed('1.2.3.4', 'a@x');
      waits.push(lockedFor());
    }
    expect(waits).toEqual([2, 4, 8, 8]);
    limiter.succeeded('1.2.3.4', 'a@x');
    expect(lockedFor()).toBe(0);
  });
});

describe('invitation acceptance', () => {
  it('never takes an existing account’s password: it asks to sign in, and joins only the signed-in account', async () => {
    await signUp(
      filo,
      {
        workspace: 'Elsewhere',
        name: 'Eve Existing',
        email: 'eve@elsewhere.example',
        password: 'a long enough secret',
      },
      { 'x-forwarded-for': '203.0.113.40' },
    );
    const inv = await invite('eve@elsewhere.example');
    const attacker = '198.51.100.9';
    for (let i = 0; i < 15; i++) {
      const res = await post(
        '/api/auth/accept-invite',
        { token: inv.token, password: `wrong guess number ${i}` },
        attacker,
      );
      expect(`${i}: ${res.status} ${await errorCode(res)}`).toBe(`${i}: 409 sign_in_required`);
    }
    // Even the right password through the link does not join.
    const right = await post(
      '/api/auth/accept-invite',
      { token: inv.token, password: 'a long enough secret' },
      attacker,
    );
    expect(right.status).toBe(409);
    expect((await demo.json('GET', '/api/team/members')).items.map((m: { email: string }) => m.email)).not.toContain(
      'eve@elsewhere.example',
    );
    // Signed in as that account, the same link joins it.
    const eve = await login(filo.baseUrl, { email: 'eve@elsewhere.example', password: 'a long enough secret' });
    const joined = await post('/api/auth/accept-invite', { token: inv.token }, '203.0.113.40', { cookie: eve });
    expect(joined.status).toBe(200);
    expect((await body(joined)).workspace.name).toBe('Filo Demo');
  });

  it('answers 429 to a guesser of invitation tokens, like sign-in', async () => {
    const guesser = '198.51.100.10';
    const statuses: number[] = [];
    for (let i = 0; i < 105; i++) {
      const res = await post(
        '/api/auth/accept-invite',
        { token: `guessed-token-${i}-${'x'.repeat(20)}`, name: 'G', password: 'a long enough secret' },
        guesser,
      );
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 100).every((s) => s === 410)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });

  it('applies the sign-up password rules to a new account, and refuses the most common passwords', async () => {
    const inv = await invite('newbie@example.com');
    for (const password of [
      'x',
      'short',
      'password123',
      '12345678',
      'qwertyuiop',
      'aaaaaaaaaa',
      'newbie@example.com',
    ]) {
      const res = await post('/api/auth/accept-invite', { token: inv.token, name: 'Newbie', password }, '203.0.113.42');
      expect(`${password}: ${res.status}`).toBe(`${password}: 400`);
      expect((await body(res)).error.fields.password).toBeTruthy();
    }
    const common = await post(
      '/api/auth/signup',
      { workspace: 'W', name: 'N', email: 'common@example.com', password: 'password1' },
      '203.0.113.43',
    );
    expect(common.status).toBe(400);
    const ok = await post(
      '/api/auth/accept-invite',
      { token: inv.token, name: 'Newbie', password: 'a sensible passphrase' },
      '203.0.113.42',
    );
    expect(ok.status).toBe(200);
  });
});

describe('sign-up with an address that has an account', () => {
  it('mails the owner that someone tried (once an hour), and creates nothing', async () => {
    const attempt = () =>
      post(
        '/api/auth/signup',
        { workspace: 'Takeover', name: 'Mallory', email: 'Sara@Filo.local', password: 'a long enough secret' },
        '198.51.100.120',
      );
    const before = readOutbox(filo.services.mailer.outboxDir!).length;
    expect((await attempt()).status).toBe(202);
    await expect.poll(() => readOutbox(filo.services.mailer.outboxDir!).length).toBe(before + 1);
    const warnings = readOutbox(filo.services.mailer.outboxDir!).slice(before);
    const mail = await simpleParser(warnings[0]!.raw);
    expect(mail.to).toMatchObject({ text: 'sara@filo.local' });
    expect(mail.subject).toBe('Someone tried to sign up to Filo with your address');
    expect(mail.text).toContain('198.51.100.120');
    // The second is decided before its answer (no mail in flight): none is sent.
    expect((await attempt()).status).toBe(202);
    expect(readOutbox(filo.services.mailer.outboxDir!).length).toBe(before + 1);
  });
});

describe('API tokens', () => {
  it('a member sees and revokes only their own; an admin sees and revokes all', async () => {
    const luca = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }),
    );
    const me = await luca.json('GET', '/api/auth/me');
    expect(me.role).toBe('member');
    const adminToken = await demo.json('POST', '/api/tokens', { name: 'Owner integration' });
    const memberToken = await luca.json('POST', '/api/tokens', { name: 'Luca script' });
    const seen = (await luca.json('GET', '/api/tokens')).items.map((t: { name: string }) => t.name);
    expect(seen).toEqual(['Luca script']);
    const denied = await luca.call('DELETE', `/api/tokens/${adminToken.id}`);
    expect(denied.status).toBe(404);
    expect((await apiClient(filo.baseUrl, adminToken.token, true).call('GET', '/api/auth/me')).status).toBe(200);
    const all = (await demo.json('GET', '/api/tokens')).items.map((t: { name: string }) => t.name);
    expect(all).toEqual(expect.arrayContaining(['Owner integration', 'Luca script']));
    await demo.json('DELETE', `/api/tokens/${memberToken.id}`);
    expect((await apiClient(filo.baseUrl, memberToken.token, true).call('GET', '/api/auth/me')).status).toBe(401);
    await luca.json('DELETE', `/api/tokens/${(await luca.json('POST', '/api/tokens', { name: 'Mine' })).id}`);
  });

  it('a read-only token is refused on every write route, whatever the route checks itself', async () => {
    const read = apiClient(
      filo.baseUrl,
      (await demo.json('POST', '/api/tokens', { name: 'Wall', scope: 'read' })).token,
      true,
    );
    const notifications = await demo.json('GET', '/api/notifications');
    const writes = filo.routes.filter((r) => r.method !== 'get' && r.path.startsWith('/api/'));
    expect(writes.length).toBeGreaterThan(20);
    const allowed: string[] = [];
    for (const route of writes) {
      const path = route.path.replace(/:(\w+)/g, () => crypto.randomUUID());
      const res = await read.call(route.method.toUpperCase(), path, {});
      if (res.status !== 403 || (await errorCode(res)) !== 'read_only_token')
        allowed.push(`${route.method} ${path} -> ${res.status}`);
    }
    expect(allowed).toEqual([]);
    expect((await read.call('PATCH', '/api/auth/me', { name: 'Hijacked' })).status).toBe(403);
    expect((await demo.json('GET', '/api/auth/me')).user.name).toBe('Demo Owner');
    expect((await demo.json('GET', '/api/notifications')).unread).toEqual(notifications.unread);
    expect((await read.call('GET', '/api/crm/companies')).status).toBe(200);
  });

  it('a malformed Authorization header is refused, never answered with the cookie (nor exempt from the Origin check)', async () => {
    for (const authorization of ['Bearer', 'Bearer ', 'Bearer a b', 'Basic Zm9vOmJhcg==', 'bearer\tx y', 'Token abc']) {
      const read = await fetch(`${filo.baseUrl}/api/auth/me`, { headers: { cookie: demo.cookie, authorization } });
      expect(`${authorization}: ${read.status}`).toBe(`${authorization}: 401`);
      const write = await fetch(`${filo.baseUrl}/api/crm/companies`, {
        method: 'POST',
        headers: {
          cookie: demo.cookie,
          authorization,
          origin: 'https://evil.example',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ name: 'CSRF Spa', type: 'client' }),
      });
      expect(`${authorization}: ${write.status}`).toMatch(/: 40[13]$/);
    }
    const { items } = await demo.json('GET', '/api/crm/companies?q=CSRF');
    expect(items).toEqual([]);
  });

  it('throttles an address that keeps presenting unknown tokens', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 102; i++) {
      const res = await fetch(`${filo.baseUrl}/api/auth/me`, {
        headers: { authorization: `Bearer filo_${'x'.repeat(40)}${i}`, 'x-forwarded-for': '198.51.100.77' },
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 100).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // Another address is unaffected.
    const token = (await demo.json('POST', '/api/tokens', { name: 'Fine' })).token;
    const ok = await fetch(`${filo.baseUrl}/api/auth/me`, {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '198.51.100.78' },
    });
    expect(ok.status).toBe(200);
  });

  it('throttles an address that keeps opening sockets with unknown tokens', async () => {
    const { io: connect } = await import('socket.io-client');
    const handshake = (token: string, ip: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(filo.baseUrl, {
          transports: ['websocket'],
          auth: { token },
          extraHeaders: { 'x-forwarded-for': ip },
          reconnection: false,
        });
        socket.on('connect', () => {
          socket.close();
          resolve('connected');
        });
        socket.on('connect_error', (err) => {
          socket.close();
          resolve(err.message);
        });
      });
    const answers: string[] = [];
    for (let i = 0; i < 101; i++) answers.push(await handshake(`filo_${'z'.repeat(40)}${i}`, '198.51.100.99'));
    expect(answers.slice(0, 100).every((a) => a === 'unauthorized')).toBe(true);
    expect(answers.at(-1)).toBe('rate_limited');
    const token = (await demo.json('POST', '/api/tokens', { name: 'Socket' })).token;
    expect(await handshake(token, '198.51.100.99')).toBe('rate_limited');
    expect(await handshake(token, '198.51.100.100')).toBe('connected');
  });

  it('throttles an address that keeps presenting unknown calendar feed tokens', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 102; i++) {
      const res = await fetch(`${filo.baseUrl}/api/meetings/feed/guess${i}${'y'.repeat(30)}.ics`, {
        headers: { 'x-forwarded-for': '198.51.100.88' },
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 100).every((s) => s === 404)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe('the request log', () => {
  it('never writes calendar feed, guest or tracking tokens', async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const app = createApp({
      config: filo.config,
      log,
      orm: filo.orm,
      services: filo.services,
      readiness: { check: async () => ({ ready: true, checks: {} }) },
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const secret = 'SeCrEtToKeN1234567890abcdefghij';
    try {
      for (const path of [
        `/api/meetings/feed/${secret}.ics`,
        `/api/meetings/${crypto.randomUUID()}/lobby?guest=${secret}`,
        `/t/c/${secret}`,
        `/t/o/${secret}.gif`,
        `/api/crm/companies?token=${secret}`,
      ])
        await (await fetch(`${base}${path}`, { redirect: 'manual' })).arrayBuffer();
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.filter((l) => l.includes(secret))).toEqual([]);
    expect(lines.join('\n')).toContain('/api/meetings/feed/[redacted].ics');
  });
});

describe('CSV export', () => {
  it('neutralises cells that a spreadsheet would run as formulas', async () => {
    for (const name of ['=HYPERLINK("http://evil.example","x")', '+cmd', '-2+3', '@SUM(A1)', '\tTab', '\rCr'])
      await demo.json('POST', '/api/crm/companies', { name: `${name}`, type: 'client', industry: '=1+1' });
    const res = await demo.call('GET', '/api/crm/companies/export.csv?limit=200');
    const csv = await res.text();
    const { parse } = await import('csv-parse/sync');
    const rows = parse(csv.replace(/^\uFEFF/, ''), { columns: true }) as Record<string, string>[];
    const cells = rows.flatMap((r) => Object.values(r));
    expect(cells.filter((c) => /^[=+\-@\t\r]/.test(c))).toEqual([]);
    expect(rows.map((r) => r.name)).toContain(`'=HYPERLINK("http://evil.example","x")`);
  });
});
