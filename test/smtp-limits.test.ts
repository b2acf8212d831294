import { afterEach, describe, expect, it, vi } from 'vitest';
import { IpLimits } from '../mail-gateway/smtp.server.ts';

/** The per-address window runs on performance.now(): the test moves that clock by hand. */
let now = 1_000_000;
afterEach(() => vi.restoreAllMocks());
const clock = () => vi.spyOn(performance, 'now').mockImplementation(() => now);

describe('per-address message window', () => {
  it('refuses past the limit within a minute, and counts again as the oldest leave the window', () => {
    clock();
    const ips = new IpLimits();
    for (let i = 0; i < 3; i++) {
      expect(ips.message('192.0.2.1', 3)).toBe(true);
      now += 10_000;
    }
    // 3 in the last minute (at 0, 10 and 20 s): the fourth, at 30 s, is refused; another address is not.
    expect(ips.message('192.0.2.1', 3)).toBe(false);
    expect(ips.message('192.0.2.2', 3)).toBe(true);
    // At 60 s the first has left the window: one more fits, not two.
    now += 30_000;
    expect(ips.message('192.0.2.1', 3)).toBe(true);
    expect(ips.message('192.0.2.1', 3)).toBe(false);
  });

  it('stays exact across the compaction of a long window', () => {
    clock();
    const ips = new IpLimits();
    // 3,000 in the first second, then 2,000 half a minute later: 5,000 in the window, the limit.
    for (let i = 0; i < 3000; i++) expect(ips.message('192.0.2.9', 5000)).toBe(true);
    now += 30_000;
    for (let i = 0; i < 2000; i++) expect(ips.message('192.0.2.9', 5000)).toBe(true);
    expect(ips.message('192.0.2.9', 5000)).toBe(false);
    // The first 3,000 expire (and the array is compacted): 3,000 fit again, and not one more.
    now += 30_000;
    for (let i = 0; i < 3000; i++) expect(ips.message('192.0.2.9', 5000)).toBe(true);
    expect(ips.message('192.0.2.9', 5000)).toBe(false);
  });
});
