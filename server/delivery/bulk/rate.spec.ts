import { describe, expect, it } from 'vitest';
import { TokenBucket, type BucketClock } from './rate.ts';

/** A clock that moves only when told: a sleep ends when `advance` passes its deadline. */
function fakeClock() {
  let now = 0;
  const sleepers: { until: number; wake: () => void }[] = [];
  const clock: BucketClock & { advance(ms: number): Promise<void> } = {
    now: () => now,
    sleep: (ms) => new Promise<void>((wake) => sleepers.push({ until: now + ms, wake })),
    async advance(ms) {
      now += ms;
      for (const s of sleepers.splice(0).filter((s) => s.until <= now || (sleepers.push(s), false))) s.wake();
      // Let the woken turns run (and queue their next sleeps) before the caller looks.
      for (let i = 0; i < 20; i++) await Promise.resolve();
    },
  };
  return clock;
}

describe('TokenBucket', () => {
  it('spaces takers at the rate, and after a stall lets only its burst through at once', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(4, 1, clock);
    const released: number[] = [];
    const takers = Array.from({ length: 6 }, () => bucket.take().then(() => released.push(clock.now())));
    await clock.advance(0);
    expect(released).toEqual([0]);
    await clock.advance(250);
    await clock.advance(250);
    expect(released).toEqual([0, 250, 500]);
    // The event loop stalls for 5 s: the three waiting takers must not all go at once when it comes back.
    await clock.advance(5000);
    expect(released).toEqual([0, 250, 500, 5500]);
    await clock.advance(250);
    await clock.advance(250);
    await Promise.all(takers);
    expect(released).toEqual([0, 250, 500, 5500, 5750, 6000]);
  });

  it('lets a burst of its capacity go at once after a quiet spell, then the rate', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(2, 3, clock);
    const released: number[] = [];
    void Array.from({ length: 5 }, () => bucket.take().then(() => released.push(clock.now())));
    await clock.advance(0);
    expect(released).toEqual([0, 0, 0]);
    await clock.advance(500);
    await clock.advance(500);
    expect(released).toEqual([0, 0, 0, 500, 1000]);
  });
});
