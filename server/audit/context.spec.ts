import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { auditOrigin, currentOrigin, type RequestOrigin } from './context.ts';

describe('auditOrigin', () => {
  it('keeps a snapshot of plain strings, not the request (a request kept in async context outlives the young GC)', () => {
    const req = {
      ip: '203.0.113.9',
      auth: { via: 'session' },
      headers: { 'user-agent': 'Firefox/140' } as Record<string, string>,
      get(name: string) {
        return this.headers[name.toLowerCase()];
      },
    };
    let seen: RequestOrigin | null = null;
    auditOrigin({ tokenUsed: () => Promise.resolve() })(req as unknown as Request, {} as Response, () => {
      seen = currentOrigin();
    });
    // the request object changed or reused afterwards: the origin recorded stays what it was
    req.ip = '198.51.100.1';
    req.headers['user-agent'] = 'curl/8';
    expect(seen).toEqual({ ip: '203.0.113.9', userAgent: 'Firefox/140', via: 'session' });
    for (const key of ['ip', 'userAgent', 'via'] as const)
      expect(Object.getOwnPropertyDescriptor(seen!, key)?.get).toBeUndefined();
  });
});
