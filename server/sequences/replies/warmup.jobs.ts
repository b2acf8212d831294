import type { DomainJobs } from '../../jobs/queue.ts';
import type { SequenceWarmup } from './warmup.ts';

export const WARMUP_QUEUE = 'sequences.warmup';
export const REPUTATION_QUEUE = 'sequences.reputation';

/**
 * Once a day (06:00 UTC, before any workday in Europe starts): warming mailboxes' caps rise or they pause. Every
 * hour: each sending domain's reputation (bounces and complaints also check their domain as they arrive).
 */
export function sequenceWarmupJobs(deps: { warmup: Pick<SequenceWarmup, 'run' | 'checkDomains'> }): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(WARMUP_QUEUE);
      await boss.createQueue(REPUTATION_QUEUE);
    },
    async work(boss, log) {
      await boss.schedule(WARMUP_QUEUE, '0 6 * * *');
      await boss.schedule(REPUTATION_QUEUE, '17 * * * *');
      await boss.work(WARMUP_QUEUE, async () => {
        const done = await deps.warmup.run(new Date());
        if (done.raised || done.paused || done.domainsPaused) log.info(done, 'sequence warmup');
        return done;
      });
      await boss.work(REPUTATION_QUEUE, async () => {
        const paused = await deps.warmup.checkDomains(new Date());
        if (paused) log.warn({ paused }, 'sequence domains paused');
        return { paused };
      });
    },
  };
}
