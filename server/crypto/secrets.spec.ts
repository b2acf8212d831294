import { describe, expect, it } from 'vitest';
import { Secrets } from './secrets.ts';

describe('secrets at rest', () => {
  const secrets = new Secrets('a secret key of at least thirty-two characters');

  it('round-trips, with a fresh nonce each time', () => {
    const a = secrets.encrypt('p4ss', 'smtp');
    const b = secrets.encrypt('p4ss', 'smtp');
    expect(a).not.toBe(b);
    expect(a).not.toContain('p4ss');
    expect(secrets.decrypt(a, 'smtp')).toBe('p4ss');
  });

  it('refuses another key, another purpose, or a tampered value', () => {
    const stored = secrets.encrypt('p4ss', 'smtp');
    expect(() => new Secrets('another secret key, thirty-two characters long').decrypt(stored, 'smtp')).toThrow();
    expect(() => secrets.decrypt(stored, 'dkim')).toThrow();
    const [v, nonce, tag, data] = stored.split(':');
    const flipped = Buffer.from(data!, 'base64url');
    flipped[0]! ^= 1;
    expect(() => secrets.decrypt([v, nonce, tag, flipped.toString('base64url')].join(':'), 'smtp')).toThrow();
    expect(() => secrets.decrypt('plain text', 'smtp')).toThrow();
  });
});
