import { setTimeout as sleep } from 'node:timers/promises';

/** The clock a bucket reads and waits on (tests drive a fake one). */
export interface BucketClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: BucketClock = { now: () => performance.now(), sleep: (ms) => sleep(ms) };

/**
 * A token bucket: `ratePerSecond` messages a second on average, bursts up to `burst`. Callers take their turn one
 * after another, each reading the clock when its turn comes: after a stall of the event loop (or a slow spell) at
 * most `burst` go at once, never every waiter whose wait had run out meanwhile.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #capacity: number;
  readonly #clock: BucketClock;
  #tokens: number;
  #last: number;
  #turn: Promise<void> = Promise.resolve();

  /** `burst`: how many may go at once after a pause (default one second's worth; 1 spaces every message). */
  constructor(ratePerSecond: number, burst = Math.max(1, ratePerSecond), clock: BucketClock = realClock) {
    this.#rate = ratePerSecond;
    this.#capacity = Math.max(1, burst);
    this.#clock = clock;
    this.#tokens = this.#capacity;
    this.#last = clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
  }

  /** Resolves when the caller may send one message. */
  take(): Promise<void> {
    const mine = this.#turn.then(async () => {
      this.#refill();
      while (this.#tokens < 1) {
        await this.#clock.sleep(((1 - this.#tokens) / this.#rate) * 1000);
        this.#refill();
      }
      this.#tokens -= 1;
    });
    this.#turn = mine;
    return mine;
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
