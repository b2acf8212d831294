import { describe, expect, it } from 'vitest';
import { cachingResolver } from '../../mail/dns-cache.ts';

/** A resolver that counts its queries: TXT of ok.test answers, missing.test has no record, down.test times out. */
function counting() {
  const calls: string[] = [];
  const resolve = async (name: string, rrtype: string) => {
    calls.push(`${rrtype} ${name}`);
    if (name === 'ok.test') return [[`v=spf1 -all ${calls.length}`]];
    if (name === 'missing.test') throw Object.assign(new Error('no record'), { code: 'ENOTFOUND' });
    throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
  };
  return { calls, resolve };
}

describe('DNS cache of the authentication checks', () => {
  it('answers a repeated question from the cache until its time is up, per name and type', async () => {
    let clock = 0;
    const { calls, resolve } = counting();
    const cached = cachingResolver(resolve, { ttlMs: 1000, now: () => clock });
    const first = await cached('ok.test', 'TXT');
    expect(await cached('OK.test', 'TXT')).toEqual(first);
    await cached('ok.test', 'MX');
    expect(calls).toEqual(['TXT ok.test', 'MX ok.test']);
    clock = 1001;
    expect(await cached('ok.test', 'TXT')).not.toEqual(first);
    expect(calls).toHaveLength(3);
  });

  it('shares one query among concurrent callers', async () => {
    const { calls, resolve } = counting();
    const cached = cachingResolver(resolve);
    await Promise.all(Array.from({ length: 20 }, () => cached('ok.test', 'TXT')));
    expect(calls).toHaveLength(1);
  });

  it('keeps "no record" longer than a failure, and rejects with the same error', async () => {
    let clock = 0;
    const { calls, resolve } = counting();
    const cached = cachingResolver(resolve, { negativeTtlMs: 60_000, errorTtlMs: 5_000, now: () => clock });
    await expect(cached('missing.test', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(cached('down.test', 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    clock = 5_001;
    await expect(cached('missing.test', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(cached('down.test', 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(calls).toEqual(['TXT missing.test', 'TXT down.test', 'TXT down.test']);
  });

  it('holds at most maxEntries names, dropping the oldest', async () => {
    const { calls, resolve } = counting();
    const cached = cachingResolver(resolve, { maxEntries: 2 });
    for (const rrtype of ['TXT', 'MX', 'A']) await cached('ok.test', rrtype);
    await cached('ok.test', 'A');
    await cached('ok.test', 'TXT');
    expect(calls).toEqual(['TXT ok.test', 'MX ok.test', 'A ok.test', 'TXT ok.test']);
  });
});
