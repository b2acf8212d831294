import { HttpError } from './errors.ts';

/** The 429 of every limiter: Retry-After in whole seconds (at least one). */
export function tooMany(retryAfterMs: number, code = 'rate_limited', message?: (seconds: number) => string) {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return Object.assign(
    new HttpError(429, code, message?.(retryAfter) ?? `Too many attempts: try again in ${retryAfter} s`),
    {
      retryAfter,
    },
  );
}

/**
 * Counters per key in fixed windows, in memory: the machinery of every limiter here. Per process: with several
 * web nodes behind a sticky load balancer each node counts its own share.
 */
export class FixedWindows {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { count: number; resetAt: number }>();

  constructor(windowMs: number, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** The key's window now (a new, empty one once the last has ended); its count may be changed in place. */
  current(key: string): { count: number; resetAt: number } {
    const now = this.#now();
    if (this.#entries.size > 50_000) for (const [k, v] of this.#entries) if (v.resetAt <= now) this.#entries.delete(k);
    let entry = this.#entries.get(key);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + this.#windowMs };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** The key's window if one is running, without opening one. */
  peek(key: string): { count: number; resetAt: number } | undefined {
    const entry = this.#entries.get(key);
    return entry && entry.resetAt > this.#now() ? entry : undefined;
  }

  /** Milliseconds until the key's window ends. */
  remainingMs(entry: { resetAt: number }): number {
    return entry.resetAt - this.#now();
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

/** Attempts per key (an IP, an email) in fixed windows; over the limit, 429 with Retry-After. */
export class RateLimiter {
  readonly #limit: number;
  readonly #windows: FixedWindows;

  constructor(limit: number, windowMs: number) {
    this.#limit = limit;
    this.#windows = new FixedWindows(windowMs);
  }

  /** Counts one attempt for every key; throws 429 (with Retry-After seconds) if any key is over its limit. */
  hit(...keys: string[]): void {
    let retryAfterMs = 0;
    for (const key of keys) {
      const entry = this.#windows.current(key);
      entry.count++;
      if (entry.count > this.#limit) retryAfterMs = Math.max(retryAfterMs, this.#windows.remainingMs(entry));
    }
    if (retryAfterMs) throw tooMany(retryAfterMs);
  }

  /** A success forgets the failures of that key. */
  reset(key: string): void {
    this.#windows.delete(key);
  }
}
