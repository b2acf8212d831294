import type { JobWithMetadata } from 'pg-boss';
import type { DomainJobs } from '../jobs/queue.ts';
import type { WorkflowEngine } from './engine.ts';
import { RUN_QUEUE, type RunJob } from './runs.ts';

/**
 * Workflow runs: one job per run to start or resume (retried with backoff), and a sweep every `sweepMs` on every
 * worker node (schedules, date triggers, waits over), whose unique firings keep nodes from firing anything twice.
 * Events come from the event feed's own drain.
 */
export function workflowsJobs(deps: { engine: WorkflowEngine; sweepMs: number }): DomainJobs {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  return {
    async queues(boss) {
      await boss.createQueue(RUN_QUEUE, { retryLimit: 5, retryDelay: 5, retryBackoff: true, notify: true });
    },
    async work(boss, log) {
      await boss.work(
        RUN_QUEUE,
        { includeMetadata: true, batchSize: 1, localConcurrency: 2, pollingIntervalSeconds: 1 },
        async ([job]: JobWithMetadata<RunJob>[]) => {
          await deps.engine.advance(job!.data, { final: job!.retryCount >= job!.retryLimit });
        },
      );
      const sweep = () => {
        if (busy) return;
        busy = true;
        running = deps.engine
          .tick(new Date())
          .catch((err: unknown) => log.warn({ err }, 'workflow sweep failed'))
          .finally(() => (busy = false));
      };
      sweep();
      timer = setInterval(sweep, deps.sweepMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
