import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket: `ratePerSecond` messages a second on average, bursts up to one second's worth. Callers wait
 * in order (a FIFO of reservations), so a burst of waiters is spread out instead of retrying in a loop.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #capacity: number;
  #tokens: number;
  #last = performance.now();

  /** `burst`: how many may go at once after a pause (default one second's worth; 1 spaces every message). */
  constructor(ratePerSecond: number, burst = Math.max(1, ratePerSecond)) {
    this.#rate = ratePerSecond;
    this.#capacity = Math.max(1, burst);
    this.#tokens = this.#capacity;
  }

  /** Resolves when the caller may send one message. */
  async take(): Promise<void> {
    const now = performance.now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    // Reserve now (tokens may go negative): the wait is how long until this reservation is covered.
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    await sleep((-this.#tokens / this.#rate) * 1000);
  }
}

/** Per source, the pace its rows go at in this process (its concurrent runs share it): evenly spaced, no burst. */
export class SourcePaces {
  readonly #paces = new Map<string, { rate: number; bucket: TokenBucket }>();

  take(key: string, rate: number): Promise<void> {
    let pace = this.#paces.get(key);
    if (!pace || pace.rate !== rate) this.#paces.set(key, (pace = { rate, bucket: new TokenBucket(rate, 1) }));
    return pace.bucket.take();
  }
}

/** At most `limit` tasks at once; the others wait their turn. */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
