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

  constructor(ratePerSecond: number) {
    this.#rate = ratePerSecond;
    this.#capacity = Math.max(1, ratePerSecond);
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
