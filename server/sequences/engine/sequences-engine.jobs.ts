import type { DomainJobs } from '../../jobs/queue.ts';
import type { SequenceEngine } from './sequence-engine.ts';

export const SEQUENCES_TICK_QUEUE = 'sequences.tick';

/** Every minute: due enrolments of every workspace advance (claimed with skip locked, so workers share them). */
export function sequencesEngineJobs(deps: { engine: Pick<SequenceEngine, 'tick'> }): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(SEQUENCES_TICK_QUEUE);
    },
    async work(boss, log) {
      await boss.schedule(SEQUENCES_TICK_QUEUE, '* * * * *');
      await boss.work(SEQUENCES_TICK_QUEUE, async () => {
        const r = await deps.engine.tick(new Date());
        if (r.evaluated) log.info(r, 'sequence enrolments advanced');
        return r;
      });
    },
  };
}
