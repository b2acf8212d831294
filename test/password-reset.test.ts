import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { readOutbox } from '../server/delivery/mailer.ts';
import { redactUrl } from '../server/http/redact.ts';
import { apiClient, body, DEMO, errorCode, login, startTestFilo, type TestFilo } from './support/harness.ts';

const NEW_PASSWORD = 'Amber-kettle-orchard-5523';

describe('password reset by email', () => {
  let filo: TestFilo;
  let outbox: string;
  // Each test speaks from its own address (Express trusts the loopback proxy), so limits do not mix.
  const post = (path: string, payload: unknown, ip: string) =>
    fetch(`${filo.baseUrl}/api/auth/password-reset${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify(payload),
    });
  const mailsTo = async (email: string) => {
    const found: { subject: string; token: string | null; text: string }[] = [];
    for (const { raw } of readOutbox(outbox)) {
      const mail = await simpleParser(raw);
      const to = mail.to && !Array.isArray(mail.to) ? mail.to.text : '';
      if (to.toLowerCase() !== email) continue;
      const text = mail.text ?? '';
      found.push({
        subject: mail.subject ?? '',
        text,
        token: /\/reset-password#token=([\w-]+)/.exec(text)?.[1] ?? null,
      });
    }
    return found;
  };
  const linkFor = async (email: string, ip: string) => {
    const before = (await mailsTo(email)).length;
    expect((await post('', { email }, ip)).status).toBe(202);
    await expect.poll(async () => (await mailsTo(email)).length, { timeout: 10_000, interval: 50 }).toBe(before + 1);
    return (await mailsTo(email)).at(-1)!.token!;
  };

  beforeAll(async () => {
    filo = await startTestFilo();
    outbox = filo.services.mailer.outboxDir!;
  });
  afterAll(() => filo?.close());

  it('answers alike for an address with and without an account, and mails only the account', async () => {
    const unknown = await post('', { email: 'Nobody.Here@example.com' }, '203.0.113.1');
    const known = await post('', { email: 'Luca@Filo.local' }, '203.0.113.1');
    expect(unknown.status).toBe(202);
    expect(known.status).toBe(202);
    expect(await body(unknown)).toEqual(await body(known));
    await expect.poll(async () => (await mailsTo('luca@filo.local')).length, { timeout: 10_000 }).toBe(1);
    const [mail] = await mailsTo('luca@filo.local');
    expect(mail!.subject).toBe('Reset your Filo password');
    expect(mail!.token).toMatch(/^[\w-]{43}$/);
    expect(mail!.text).toContain('one hour');
    expect(await mailsTo('nobody.here@example.com')).toEqual([]);
  });

  it('refuses bad input with 400 and a code', async () => {
    const ip = '203.0.113.2';
    expect(await errorCode(await post('', {}, ip))).toBe('validation_failed');
    expect(await errorCode(await post('', { email: 'not an address' }, ip))).toBe('validation_failed');
    expect(await errorCode(await post('', { email: 'a@b.example', extra: 1 }, ip))).toBe('validation_failed');
    const token = await linkFor('sara@filo.local', ip);
    for (const payload of [{ token }, { token: 'short', password: NEW_PASSWORD }, { token, password: 'password' }]) {
      const res = await post('/confirm', payload, ip);
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe('validation_failed');
    }
    // The password may not be the address's own name; the link is not used up by a refused password.
    const mine = await post('/confirm', { token, password: 'sara@filo.local' }, ip);
    expect(mine.status).toBe(400);
    expect((await body(mine)).error.fields.password).toMatch(/email/);
    expect((await post('/check', { token }, ip)).status).toBe(200);
    const forged = await post('/confirm', { token: 'x'.repeat(43), password: NEW_PASSWORD }, ip);
    expect(forged.status).toBe(400);
    expect(await errorCode(forged)).toBe('reset_link_invalid');
  });

  it('sets the password once: every session of the user ends, this one signs in, the link is dead', async () => {
    const ip = '203.0.113.3';
    const laptop = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'mario@filo.local', password: DEMO.password }),
    );
    const phone = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'mario@filo.local', password: DEMO.password }),
    );
    expect((await laptop.call('GET', '/api/auth/me')).status).toBe(200);
    const older = await linkFor('mario@filo.local', ip);
    const token = await linkFor('mario@filo.local', ip);
    expect(await body(await post('/check', { token }, ip))).toEqual({ status: 'valid' });

    const res = await post('/confirm', { token, password: NEW_PASSWORD }, ip);
    expect(res.status).toBe(200);
    expect((await body(res)).user.email).toBe('mario@filo.local');
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    expect((await laptop.call('GET', '/api/auth/me')).status).toBe(401);
    expect((await phone.call('GET', '/api/auth/me')).status).toBe(401);
    expect((await apiClient(filo.baseUrl, cookie).call('GET', '/api/auth/me')).status).toBe(200);
    await expect(login(filo.baseUrl, { email: 'mario@filo.local', password: DEMO.password })).rejects.toThrow(/401/);
    await login(filo.baseUrl, { email: 'mario@filo.local', password: NEW_PASSWORD });

    // Used: says so, on the check and on a second try; the user's other open link died with it.
    for (const path of ['/check', '/confirm']) {
      const payload = path === '/check' ? { token } : { token, password: 'Another-strong-phrase-77' };
      const again = await post(path, payload, ip);
      expect(again.status).toBe(410);
      expect(await errorCode(again)).toBe('reset_link_used');
    }
    expect(await errorCode(await post('/confirm', { token: older, password: 'Another-strong-phrase-77' }, ip))).toBe(
      'reset_link_used',
    );
    await login(filo.baseUrl, { email: 'mario@filo.local', password: NEW_PASSWORD });
  });

  it('a link past its hour says it expired and changes nothing', async () => {
    const ip = '203.0.113.4';
    const token = await linkFor('demo@filo.local', ip);
    await filo.orm.em
      .getConnection()
      .execute(
        `update password_resets set expires_at = now() - interval '1 minute' where used_at is null and user_id = (select id from users where email = 'demo@filo.local')`,
      );
    for (const path of ['/check', '/confirm']) {
      const res = await post(path, path === '/check' ? { token } : { token, password: NEW_PASSWORD }, ip);
      expect(res.status).toBe(410);
      expect(await errorCode(res)).toBe('reset_link_expired');
    }
    await login(filo.baseUrl, DEMO);
  });

  it('limits asking per address and per network address (429 alike for unknown addresses)', async () => {
    for (const email of ['luca@filo.local', 'ghost@example.com']) {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await post('', { email }, `198.51.100.${i + 1}`)).status);
      // luca asked once in the first test: the budget of five is spent one sooner for him.
      const allowed = email === 'luca@filo.local' ? 4 : 5;
      expect(statuses.slice(0, allowed).every((s) => s === 202)).toBe(true);
      expect(statuses.slice(allowed)).toEqual(Array(6 - allowed).fill(429));
    }
    const ip = '198.51.100.200';
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await post('', { email: `someone${i}@example.com` }, ip)).status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(30);
    expect(statuses.at(-1)).toBe(429);
    const res = await post('', { email: 'fresh@example.com' }, ip);
    expect(await errorCode(res)).toBe('rate_limited');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('counts forged links as failed credentials of the address, then answers 429', async () => {
    const ip = '198.51.100.250';
    for (let i = 0; i < 100; i++)
      expect((await post('/check', { token: `forged-token-${i}-`.padEnd(43, 'x') }, ip)).status).toBe(400);
    const res = await post('/confirm', { token: 'y'.repeat(43), password: NEW_PASSWORD }, ip);
    expect(res.status).toBe(429);
  });

  it('keeps reset tokens out of the request log', () => {
    expect(redactUrl(`/reset-password/${'A'.repeat(43)}`)).toBe('/reset-password/[redacted]');
    expect(redactUrl(`/api/auth/password-reset/check?token=${'A'.repeat(43)}`)).toBe(
      '/api/auth/password-reset/check?token=[redacted]',
    );
  });
});
