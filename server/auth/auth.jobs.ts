import type { DomainJobs } from '../jobs/queue.ts';
import type { SessionsService } from './sessions.service.ts';

export const PURGE_SESSIONS_QUEUE = 'sessions.purge-expired';

/** Every hour: expired sessions are deleted. */
export function authJobs(deps: { sessions: SessionsService }): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(PURGE_SESSIONS_QUEUE);
    },
    async work(boss, log) {
      await boss.schedule(PURGE_SESSIONS_QUEUE, '17 * * * *');
      await boss.work(PURGE_SESSIONS_QUEUE, async () => {
        const purged = await deps.sessions.purgeExpired();
        log.info({ purged }, 'expired sessions purged');
        return { purged };
      });
    },
  };
}
