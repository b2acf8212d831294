import { HttpError } from './errors.ts';

/**
 * Fixed-window counters in memory, per key (an IP, an email). Per process: with several web nodes behind a
 * sticky load balancer each node counts its own share, which still caps a guessing attacker per node.
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #hits = new Map<string, { count: number; resetAt: number }>();

  constructor(limit: number, windowMs: number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Counts one attempt for every key; throws 429 (with Retry-After seconds) if any key is over its limit. */
  hit(...keys: string[]): void {
    const now = Date.now();
    if (this.#hits.size > 50_000) for (const [k, v] of this.#hits) if (v.resetAt <= now) this.#hits.delete(k);
    let retryAfter = 0;
    for (const key of keys) {
      let entry = this.#hits.get(key);
      if (!entry || entry.resetAt <= now) {
        entry = { count: 0, resetAt: now + this.#windowMs };
        this.#hits.set(key, entry);
      }
      entry.count++;
      if (entry.count > this.#limit) retryAfter = Math.max(retryAfter, Math.ceil((entry.resetAt - now) / 1000));
    }
    if (retryAfter)
      throw Object.assign(new HttpError(429, 'rate_limited', `Too many attempts: try again in ${retryAfter} s`), {
        retryAfter,
      });
  }

  /** A success forgets the failures of that key. */
  reset(key: string): void {
    this.#hits.delete(key);
  }
}
