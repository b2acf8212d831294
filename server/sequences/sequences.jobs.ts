import type { DomainJobs } from '../jobs/queue.ts';
import type { SequencesService } from './sequences.service.ts';
import { ARCHIVE_STOP_QUEUE, type ArchiveStopJob } from './archive-queue.ts';

export function sequenceApiJobs(deps: { sequences: SequencesService }): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(ARCHIVE_STOP_QUEUE, { retryLimit: 5, retryDelay: 10 });
    },
    async work(boss, log) {
      await boss.work<ArchiveStopJob>(ARCHIVE_STOP_QUEUE, async ([job]) => {
        const { tenantId, sequenceId } = job!.data;
        const stopped = await deps.sequences.stopArchived(tenantId, sequenceId);
        log.info({ sequenceId, stopped }, 'archived sequence: prospects stopped');
        return { stopped };
      });
    },
  };
}
