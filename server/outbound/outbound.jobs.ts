import type { JobWithMetadata, PgBoss } from 'pg-boss';
import type { DomainJobs } from '../jobs/queue.ts';
import type { Logger } from '../logger.ts';
import { OUTBOUND_QUEUE, type OutboundJob, type OutboundService } from './outbound.service.ts';

/** Outbound mail still queued or sending (after a restart: their job may have died with a worker); messaging has its own. */
const PENDING_SQL = `select id, tenant_id from messages
   where direction = 'outbound' and status in ('queued', 'sending') and channel = 'email' order by created_at limit 10000`;

/**
 * As the schema owner, across workspaces: every pending message gets a job again (its job may have died with a
 * worker). An extra job is harmless: the send job claims the message first and skips one claimed by another.
 */
async function requeuePending(boss: PgBoss, retryDelay: number, log: Logger): Promise<void> {
  const { rows } = (await boss.getDb().executeSql(PENDING_SQL)) as { rows: { id: string; tenant_id: string }[] };
  for (let i = 0; i < rows.length; i += 500)
    await boss.insert(
      OUTBOUND_QUEUE,
      rows.slice(i, i + 500).map((r) => ({ data: { messageId: r.id, tenantId: r.tenant_id }, retryDelay })),
    );
  if (rows.length) log.info({ requeued: rows.length }, 'outbound messages queued again after a restart');
}

/** Sending of replies and new messages: one job per message, retried with backoff on temporary failures. */
export function outboundJobs(deps: { outbound: Pick<OutboundService, 'send' | 'retryDelaySeconds'> }): DomainJobs {
  return {
    // A temporary failure (4xx, no connection) is tried again after 10 s, 20 s, 40 s… (about an hour in all); a
    // permanent refusal fails the message at once. NOTIFY wakes a worker as soon as a message is queued.
    async queues(boss) {
      await boss.createQueue(OUTBOUND_QUEUE, {
        retryLimit: 8,
        retryDelay: 10,
        retryBackoff: true,
        retryDelayMax: 1800,
        notify: true,
        heartbeatSeconds: 30,
      });
    },
    async work(boss, log) {
      await boss.work(
        OUTBOUND_QUEUE,
        {
          includeMetadata: true,
          batchSize: 1,
          localConcurrency: 2,
          pollingIntervalSeconds: 1,
          // Retries come due without a NOTIFY: look for them every second.
          notifyPollingIntervalSeconds: 1,
        },
        async ([job]: JobWithMetadata<OutboundJob>[]) => {
          const outcome = await deps.outbound.send(job!.data, { final: job!.retryCount >= job!.retryLimit });
          log.info({ messageId: job!.data.messageId, outcome }, 'outbound message handled');
          return { outcome };
        },
      );
      await requeuePending(boss, deps.outbound.retryDelaySeconds, log).catch((err: unknown) =>
        log.error({ err }, 'could not requeue outbound messages'),
      );
    },
  };
}
