import type { DomainJobs } from '../jobs/queue.ts';
import type { Actor } from '../tenancy.ts';
import { IMPORT_QUEUE, type ImportJob, type ImportsService } from './imports.service.ts';

/** CSV imports run in the background, as the member who uploaded the file; a crash is tried twice more. */
export function crmJobs(deps: {
  imports: ImportsService;
  actorFor: (tenantId: string, userId: string) => Promise<Actor | null>;
}): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(IMPORT_QUEUE, { retryLimit: 2, retryDelay: 5 });
    },
    async work(boss, log) {
      await boss.work<ImportJob>(IMPORT_QUEUE, async ([job]) => {
        const { importId, tenantId } = job!.data;
        const done = await deps.imports.run(importId, tenantId, (userId) => deps.actorFor(tenantId, userId));
        log.info({ importId, status: done.status, created: done.createdRows }, 'import finished');
        return { status: done.status, created: done.createdRows, errors: done.errors.length };
      });
    },
  };
}
