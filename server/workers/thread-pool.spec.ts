import { afterEach, describe, expect, it } from 'vitest';
import { TaskBudgetExceeded, TaskFailed, ThreadPool } from './thread-pool.ts';

const FIXTURE = new URL('./spin.fixture.worker.ts', import.meta.url);

describe('ThreadPool', () => {
  let pool: ThreadPool<number | 'spin' | 'throw', number>;
  afterEach(() => pool?.close());

  it('terminates a thread stuck past its budget, fails that task, and goes on with the queue', async () => {
    pool = new ThreadPool(FIXTURE, { threads: 1, budgetMs: 300 });
    const stuck = pool.run('spin');
    const queued = pool.run(21);
    await expect(stuck).rejects.toBeInstanceOf(TaskBudgetExceeded);
    await expect(queued).resolves.toBe(42);
  }, 30_000);

  it('passes on what the task threw, with its name, and keeps the thread', async () => {
    pool = new ThreadPool(FIXTURE, { threads: 1, budgetMs: 5_000 });
    const failed = await pool.run('throw').catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(TaskFailed);
    expect(failed).toMatchObject({ errorName: 'RangeError', message: 'too deep' });
    await expect(pool.run(2)).resolves.toBe(4);
  }, 30_000);
});
