import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { BulkTokens } from './tokens.ts';

describe('bulk send tokens', () => {
  const tokens = new BulkTokens('k'.repeat(48));
  const sendId = randomUUID();

  it('round-trip each kind, fit an address local part and read the same in upper case', () => {
    for (const kind of ['unsubscribe', 'bounce', 'open', 'click'] as const) {
      const t = tokens.sign({ sendId, kind, index: 7 });
      expect(t).toMatch(/^[a-z2-7]{47}$/);
      expect(`b+${t}`.length).toBeLessThanOrEqual(64);
      expect(tokens.verify(t)).toEqual({ sendId, kind, index: 7 });
      expect(tokens.verify(t.toUpperCase())).toEqual({ sendId, kind, index: 7 });
    }
  });

  it('refuse another kind, another key, a changed character and garbage', () => {
    const t = tokens.sign({ sendId, kind: 'unsubscribe', index: 0 });
    expect(tokens.verify(t, 'bounce')).toBeNull();
    expect(new BulkTokens('x'.repeat(48)).verify(t)).toBeNull();
    const flipped = t.slice(0, 10) + (t[10] === 'a' ? 'b' : 'a') + t.slice(11);
    expect(tokens.verify(flipped)).toBeNull();
    expect(tokens.verify('not-a-token')).toBeNull();
    expect(tokens.verify('')).toBeNull();
  });
});
