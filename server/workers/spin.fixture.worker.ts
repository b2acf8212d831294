import { parentPort } from 'node:worker_threads';
import { serveTasks } from './thread-pool.ts';

/** A pool thread for thread-pool.spec.ts: doubles a number, spins forever on 'spin', throws on 'throw'. */
serveTasks(parentPort!, (input: number | 'spin' | 'throw') => {
  if (input === 'spin') for (;;);
  if (input === 'throw') throw new RangeError('too deep');
  return input * 2;
});
