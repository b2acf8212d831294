import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a guest link vouches for: who may join which meeting of which workspace, until when. */
export interface GuestClaims {
  tenantId: string;
  meetingId: string;
  name: string;
  email: string | null;
  contactId: string | null;
  /** Seconds since the epoch. */
  exp: number;
}

// A key of its own, derived from SECRET_KEY, so that a guest link can never pass for any other signed value.
const keyOf = (secretKey: string) => createHmac('sha256', secretKey).update('filo/meeting-guest/v1').digest();

/** `<claims, base64url JSON>.<HMAC-SHA256, base64url>`: no state on the server, nothing to guess. */
export function signGuestToken(secretKey: string, claims: GuestClaims): string {
  const body = Buffer.from(
    JSON.stringify({
      t: claims.tenantId,
      m: claims.meetingId,
      n: claims.name,
      e: claims.email,
      c: claims.contactId,
      x: claims.exp,
    }),
  ).toString('base64url');
  return `${body}.${createHmac('sha256', keyOf(secretKey)).update(body).digest('base64url')}`;
}

/** The claims of a well-signed, unexpired token; null for anything else. */
export function verifyGuestToken(secretKey: string, token: string, now = new Date()): GuestClaims | null {
  const [body, signature, ...rest] = token.split('.');
  if (!body || !signature || rest.length) return null;
  const expected = createHmac('sha256', keyOf(secretKey)).update(body).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof c.t !== 'string' || typeof c.m !== 'string' || typeof c.n !== 'string' || typeof c.x !== 'number')
      return null;
    if (c.x * 1000 < now.getTime()) return null;
    return {
      tenantId: c.t,
      meetingId: c.m,
      name: c.n,
      email: typeof c.e === 'string' ? c.e : null,
      contactId: typeof c.c === 'string' ? c.c : null,
      exp: c.x,
    };
  } catch {
    return null;
  }
}
