import type { DomainJobs } from '../jobs/queue.ts';
import type { AbWinner } from './ab.ts';

export const AB_WINNER_QUEUE = 'newsletters.ab-winner';

/**
 * Every minute: A/B tests whose wait is over get their winner (a minute's precision is enough for waits counted in
 * minutes and hours, and one schedule survives restarts and edits of a campaign's wait, where a delayed job would not).
 */
export function analyticsJobs(deps: { ab: AbWinner }): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(AB_WINNER_QUEUE);
    },
    async work(boss, log) {
      await boss.schedule(AB_WINNER_QUEUE, '* * * * *');
      await boss.work(AB_WINNER_QUEUE, async () => {
        const decided = await deps.ab.decideDue(boss.getDb(), new Date());
        if (decided.length) log.info({ decided }, 'A/B winners chosen');
        return { decided: decided.length };
      });
    },
  };
}
