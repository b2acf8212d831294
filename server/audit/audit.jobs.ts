import type { DomainJobs } from '../jobs/queue.ts';
import type { RetentionService } from './retention.service.ts';

export const RETENTION_QUEUE = 'audit.retention';

/** Every night: each workspace's retention (raw inbound files, tracking events, audit entries) is enforced. */
export function auditJobs(deps: { retention: RetentionService }): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(RETENTION_QUEUE);
    },
    async work(boss, log) {
      await boss.schedule(RETENTION_QUEUE, '23 3 * * *');
      await boss.work(RETENTION_QUEUE, async () => {
        const purged = await deps.retention.enforceAll();
        log.info({ workspaces: purged.length }, 'retention enforced');
        return { workspaces: purged.length };
      });
    },
  };
}
