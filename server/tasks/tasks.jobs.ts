import type { DomainJobs } from '../jobs/queue.ts';
import type { TaskReminders } from './task-reminders.ts';

/**
 * Task reminders, swept every `sweepSeconds` (30 by default) by every worker node: the database decides who sends each notice (row locks
 * skipped, marks committed with the notice), so several nodes never send one twice and a restart resumes from the
 * rows. pg-boss's schedules run once a minute at best: a timer per worker is what gives the 30 s.
 */
export function tasksJobs(deps: { reminders: Pick<TaskReminders, 'sendDue'>; sweepSeconds: number }): DomainJobs {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  return {
    async queues() {},
    async work(_boss, log) {
      const sweep = () => {
        running = deps.reminders.sendDue(new Date()).then(
          (sent) => {
            if (sent) log.info({ sent }, 'task reminders sent');
          },
          (err: unknown) => log.warn({ err }, 'task reminder sweep failed'),
        );
      };
      sweep();
      timer = setInterval(sweep, deps.sweepSeconds * 1000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
