import { describe, expect, it } from 'vitest';
import { signGuestToken, verifyGuestToken, type GuestClaims } from './guest-token.ts';

const KEY = 'k'.repeat(64);
const claims: GuestClaims = {
  tenantId: '6f1c5d0e-0000-4000-8000-000000000001',
  meetingId: '6f1c5d0e-0000-4000-8000-000000000002',
  name: 'Giulia Neri',
  email: 'giulia@acme.example',
  contactId: null,
  exp: Date.parse('2026-12-08T00:00:00Z') / 1000,
};

describe('guest links', () => {
  it('vouch for the meeting, the workspace and the guest until they expire', () => {
    const token = signGuestToken(KEY, claims);
    expect(token).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(verifyGuestToken(KEY, token, new Date('2026-12-01T00:00:00Z'))).toEqual(claims);
    expect(verifyGuestToken(KEY, token, new Date('2026-12-09T00:00:00Z'))).toBeNull();
  });

  it('are refused when altered or signed with another key', () => {
    const token = signGuestToken(KEY, claims);
    const [body, sig] = token.split('.');
    const other = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), m: 'another' }),
    ).toString('base64url');
    const at = new Date('2026-12-01T00:00:00Z');
    expect(verifyGuestToken(KEY, `${other}.${sig}`, at)).toBeNull();
    expect(verifyGuestToken('x'.repeat(64), token, at)).toBeNull();
    expect(verifyGuestToken(KEY, `${token}.x`, at)).toBeNull();
    expect(verifyGuestToken(KEY, 'garbage', at)).toBeNull();
  });
});
