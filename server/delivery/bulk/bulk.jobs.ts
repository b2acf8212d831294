import type { PgBoss } from 'pg-boss';
import type { DomainJobs } from '../../jobs/queue.ts';
import type { Logger } from '../../logger.ts';
import type { BulkEngine } from './engine.ts';
import { BULK_DISPATCH_QUEUE, type BulkDispatchJob } from './types.ts';

export { BULK_DISPATCH_QUEUE };

/**
 * As the schema owner, across workspaces, when a worker starts: every source with rows still to send (pending,
 * deferred, or left `sending` by a worker that died) gets a dispatch job at its next row's time. An extra job is
 * harmless: claims skip what others hold.
 */
async function requeueSources(boss: PgBoss): Promise<number> {
  const { rows } = (await boss.getDb().executeSql(
    `select tenant_id, source, source_id, min(next_attempt_at) as next from bulk_sends
      where status in ('pending', 'deferred', 'sending') and next_attempt_at < 'infinity'
      group by 1, 2, 3 limit 100000`,
  )) as { rows: { tenant_id: string; source: BulkDispatchJob['source']; source_id: string; next: Date }[] };
  for (let i = 0; i < rows.length; i += 500)
    await boss.insert(
      BULK_DISPATCH_QUEUE,
      rows.slice(i, i + 500).map((r) => ({
        data: { tenantId: r.tenant_id, source: r.source, sourceId: r.source_id } satisfies BulkDispatchJob,
        startAfter: new Date(r.next),
      })),
    );
  return rows.length;
}

/** The bulk engine's dispatch: one job per source run (never one per recipient), batches claimed inside. */
export function bulkJobs(deps: { bulk: Pick<BulkEngine, 'dispatch' | 'close'> }): DomainJobs {
  return {
    async queues(boss) {
      // A run that fails (the database went away) is tried again soon; a dead worker's job returns after 30 s.
      await boss.createQueue(BULK_DISPATCH_QUEUE, {
        retryLimit: 20,
        retryDelay: 5,
        retryBackoff: true,
        retryDelayMax: 300,
        notify: true,
        heartbeatSeconds: 30,
      });
    },
    async work(boss, log: Logger) {
      await boss.work<BulkDispatchJob>(
        BULK_DISPATCH_QUEUE,
        { batchSize: 1, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
        async ([job]) => {
          const outcome = await deps.bulk.dispatch(job!.data);
          log.info({ ...job!.data, ...outcome }, 'bulk dispatch run');
          return outcome;
        },
      );
      await requeueSources(boss).then(
        (n) => n && log.info({ requeued: n }, 'bulk sources queued again after a restart'),
        (err: unknown) => log.error({ err }, 'could not requeue bulk sources'),
      );
    },
    stop: async () => deps.bulk.close(),
  };
}
