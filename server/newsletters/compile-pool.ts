import { HttpError } from '../http/errors.ts';
import { TaskBudgetExceeded, TaskFailed, ThreadPool } from '../workers/thread-pool.ts';
import type { CompileInput, Compiled } from './compile.ts';

/** Milliseconds one document may take to compile in its thread (a real newsletter takes tens). */
const COMPILE_BUDGET_MS = 10_000;

let pool: ThreadPool<CompileInput, Compiled> | null = null;

/**
 * compileDocument in a pool thread under a time budget: MJML, Markdown and the sanitizer are CPU work on user
 * input (and super-linear on some), which on the main thread would stall every user of the instance.
 */
export async function compileOffThread(input: CompileInput): Promise<Compiled> {
  pool ??= new ThreadPool(new URL('./compile.worker.ts', import.meta.url), { threads: 2, budgetMs: COMPILE_BUDGET_MS });
  try {
    return await pool.run(input);
  } catch (err) {
    if (err instanceof TaskBudgetExceeded || err instanceof TaskFailed)
      throw new HttpError(400, 'content_too_complex', 'The campaign is too complex to prepare (nested too deeply?)', {
        content: err instanceof TaskFailed ? err.message : 'too complex: simplify the content',
      });
    throw err;
  }
}
