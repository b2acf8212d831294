import type { DomainJobs } from '../jobs/queue.ts';
import type { CampaignLifecycle } from './campaign-lifecycle.ts';

export const START_DUE_QUEUE = 'newsletters.start-due';

/** Every minute: scheduled campaigns whose time has come start sending (each claimed once under its row lock). */
export function newslettersJobs(deps: { lifecycle: Pick<CampaignLifecycle, 'startDue'> }): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(START_DUE_QUEUE);
    },
    async work(boss, log) {
      await boss.schedule(START_DUE_QUEUE, '* * * * *');
      await boss.work(START_DUE_QUEUE, async () => {
        const started = await deps.lifecycle.startDue(new Date());
        if (started) log.info({ started }, 'scheduled campaigns started');
        return { started };
      });
    },
  };
}
