import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signJitsiJwt } from './jitsi-jwt.ts';

const SECRET = 'a-jitsi-shared-secret-of-some-length';

/** Verifies an HS256 JWT the way prosody's token auth does, written here independently of the signer. */
function verify(token: string, secret: string, expected: { room: string; now: number }) {
  const [h, p, s] = token.split('.');
  const signature = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  if (signature !== s) return { ok: false as const, why: 'signature' };
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
  if (header.alg !== 'HS256') return { ok: false as const, why: 'alg' };
  if (claims.exp <= expected.now) return { ok: false as const, why: 'expired' };
  if (claims.nbf > expected.now) return { ok: false as const, why: 'not yet' };
  if (claims.room !== '*' && claims.room !== expected.room) return { ok: false as const, why: 'room' };
  return { ok: true as const, claims };
}

describe('Jitsi JWT', () => {
  const now = new Date('2026-12-01T15:00:00Z');
  const seconds = now.getTime() / 1000;
  const token = signJitsiJwt({
    appId: 'filo',
    secret: SECRET,
    domain: 'meet.example.com',
    room: 'filo-0123456789abcdef0123456789abcdef',
    user: { id: 'u-1', name: 'Mario Rossi', email: 'mario@example.com', moderator: true },
    ttlSeconds: 3600,
    now,
  });

  it('is signed with HS256 and the shared secret, and carries the claims Jitsi reads', () => {
    const result = verify(token, SECRET, { room: 'filo-0123456789abcdef0123456789abcdef', now: seconds });
    expect(result.ok).toBe(true);
    expect(result.ok && result.claims).toEqual({
      aud: 'jitsi',
      iss: 'filo',
      sub: 'meet.example.com',
      room: 'filo-0123456789abcdef0123456789abcdef',
      iat: seconds,
      nbf: seconds - 30,
      exp: seconds + 3600,
      context: { user: { id: 'u-1', name: 'Mario Rossi', email: 'mario@example.com', moderator: true } },
    });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('opens that room only, until it expires, and only with the right secret', () => {
    expect(verify(token, SECRET, { room: 'filo-another-room', now: seconds }).why).toBe('room');
    expect(verify(token, SECRET, { room: 'filo-0123456789abcdef0123456789abcdef', now: seconds + 3600 }).why).toBe(
      'expired',
    );
    expect(verify(token, 'another-secret-entirely', { room: 'x', now: seconds }).why).toBe('signature');
    // Changing a claim breaks the signature.
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, room: '*' })).toString('base64url')}.${s}`;
    expect(verify(forged, SECRET, { room: 'anything', now: seconds }).why).toBe('signature');
  });

  it('makes only the host a moderator', () => {
    const guest = signJitsiJwt({
      appId: 'filo',
      secret: SECRET,
      domain: 'meet.example.com',
      room: 'r',
      user: { name: 'Giulia Neri', moderator: false },
      ttlSeconds: 60,
      now,
    });
    const result = verify(guest, SECRET, { room: 'r', now: seconds });
    expect(result.ok && result.claims.context.user).toEqual({ name: 'Giulia Neri', moderator: false });
  });
});
