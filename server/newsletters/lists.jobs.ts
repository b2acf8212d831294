import type { DomainJobs } from '../jobs/queue.ts';
import type { Actor } from '../tenancy.ts';
import { SUBSCRIBER_IMPORT_QUEUE, type SubscriberImportJob, type SubscriberImports } from './subscriber-import.ts';

/** Subscriber CSV imports run in the background, as the member who uploaded the file; a crash is tried twice more. */
export function listsJobs(deps: {
  imports: SubscriberImports;
  actorFor: (tenantId: string, userId: string) => Promise<Actor | null>;
}): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(SUBSCRIBER_IMPORT_QUEUE, { retryLimit: 2, retryDelay: 5 });
    },
    async work(boss, log) {
      await boss.work<SubscriberImportJob>(SUBSCRIBER_IMPORT_QUEUE, async ([job]) => {
        const { importId, tenantId } = job!.data;
        const done = await deps.imports.run(importId, tenantId, (userId) => deps.actorFor(tenantId, userId));
        log.info({ importId, status: done?.status, created: done?.createdRows }, 'subscriber import finished');
        return { status: done?.status, created: done?.createdRows, skipped: done?.skippedRows };
      });
    },
  };
}
