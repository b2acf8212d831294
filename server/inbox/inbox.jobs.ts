import type { PgBoss } from 'pg-boss';
import { INBOUND_QUEUE, type InboundJob } from '../../mail-gateway/inbound-store.ts';
import type { DomainJobs } from '../jobs/queue.ts';
import type { OutboundService } from '../outbound/outbound.service.ts';
import type { ConversationsService } from './conversations.service.ts';
import { BudgetExceeded, ReadersClosed } from './inbound/worker-pool.ts';
import type { InboundProcessor } from './inbound/process.ts';
import type { RulesService } from './rules.service.ts';

export const SNOOZES_QUEUE = 'inbox.snoozes-ended';

/**
 * Tries per message (after 5 s, then 20 s) before it stays `failed` until retried by hand. A message that passed its
 * time budget is not tried again by itself (the same bytes would take as long), nor one interrupted by a shutdown
 * (it stays `received`: the next start queues it again).
 */
const INBOUND_ATTEMPTS = 3;

/**
 * Messages one handler takes at once. Their reading overlaps in the reader threads and their writes share one
 * transaction: fewer commits and round trips per message, at the price of a longer transaction (its locks held
 * until the whole batch is written).
 */
const INBOUND_BATCH = 25;

/**
 * When a worker starts, an accepted message not yet processed whose first job (inserted with the message's
 * own id, in the transaction of its row) is no longer waiting or running gets a job again. The job of a
 * message that a crashed worker held comes back by itself (its heartbeat stops); this covers the rest without
 * doubling the work of a backlog that other workers are still going through. Processing is idempotent (row
 * lock + status check), so an extra job is a no-op.
 */
async function requeueReceived(boss: PgBoss): Promise<number> {
  const { rows } = (await boss.getDb().executeSql(
    `select m.id, m.tenant_id from inbound_messages m
        where m.status = 'received'
          and not exists (select 1 from pgboss.job j
                           where j.name = '${INBOUND_QUEUE}' and j.id = m.id and j.state in ('created', 'retry', 'active'))
        order by m.created_at limit 100000`,
  )) as { rows: { id: string; tenant_id: string }[] };
  for (let i = 0; i < rows.length; i += 500) {
    await boss.insert(
      INBOUND_QUEUE,
      rows.slice(i, i + 500).map((r) => ({ data: { inboundId: r.id, tenantId: r.tenant_id } })),
    );
  }
  return rows.length;
}

/** The shared inbox: processing of accepted mail (then its auto-reply rules), and snoozes that come due. */
export function inboxJobs(deps: {
  inbound: InboundProcessor;
  rules: RulesService;
  conversations: ConversationsService;
  outbound: OutboundService;
}): DomainJobs {
  return {
    async queues(boss) {
      // NOTIFY wakes a worker the moment mail is accepted; a worker that dies mid-batch stops its heartbeat and the
      // jobs come back after 10 s instead of pg-boss's default 15 minutes. (A message that fails is tried again by
      // the handler below with its own backoff: a batch's handler never fails as a whole.)
      await boss.createQueue(INBOUND_QUEUE, { notify: true, heartbeatSeconds: 10 });
      await boss.createQueue(SNOOZES_QUEUE);
    },
    async work(boss, log) {
      // Batches, fetched back to back while they come full: one job at a time would wait out a polling interval
      // between jobs. A batch is read in the reader threads, then written in one transaction per workspace (one
      // commit, one take of the workspace's activity counter); each message still succeeds or fails on its own (a
      // failed transaction is written again message by message), and a failed one is tried again later by a new job.
      await boss.work<InboundJob>(
        INBOUND_QUEUE,
        {
          batchSize: INBOUND_BATCH,
          localConcurrency: 2,
          burstWhenBatchFull: true,
          pollingIntervalSeconds: 1,
          notifyPollingIntervalSeconds: 2,
        },
        async (batch) => {
          // Not even the rows could be read (the database gone): every message fails this try, as one would alone.
          const results = await deps.inbound
            .processBatch(batch.map((job) => job.data))
            .catch((error: unknown) => batch.map(() => ({ ok: false as const, error })));
          // Which processed customer messages reach a mailbox with rules: asked once for the batch, not per message.
          const processed = batch.filter((_, i) => {
            const r = results[i]!;
            return r.ok && r.outcome === 'processed';
          });
          const withRules = processed.length
            ? await deps.rules.withRules(processed.map((j) => j.data)).catch((err: unknown) => {
                // each message then looks its rules up itself, as it would alone
                log.warn({ err }, 'auto-reply rules could not be looked up for the batch');
                return new Set(processed.map((j) => j.data.inboundId));
              })
            : new Set<string>();
          await Promise.all(
            batch.map(async (job, i) => {
              const result = results[i]!;
              if (result.ok) {
                // Auto-reply rules, on customer messages only (never bounces, auto-replies, lists or duplicates).
                if (result.outcome === 'processed' && withRules.has(job.data.inboundId))
                  await deps.rules.apply(job.data, deps).catch((err: unknown) => {
                    log.warn({ err, inboundId: job.data.inboundId }, 'auto-reply rules failed');
                  });
                log.debug({ inboundId: job.data.inboundId, outcome: result.outcome }, 'inbound message processed');
                return;
              }
              const err = result.error;
              if (err instanceof ReadersClosed) return;
              const attempt = (job.data.attempt ?? 0) + 1;
              log.error({ err, inboundId: job.data.inboundId, attempt }, 'inbound message processing failed');
              if (attempt < INBOUND_ATTEMPTS && !(err instanceof BudgetExceeded))
                await boss.send(INBOUND_QUEUE, { ...job.data, attempt }, { startAfter: 5 * 4 ** (attempt - 1) });
            }),
          );
        },
      );
      await requeueReceived(boss).then(
        (n) => n && log.info({ requeued: n }, 'inbound messages queued again after a restart'),
        (err: unknown) => log.error({ err }, 'could not requeue inbound messages'),
      );
      // Every minute: snoozed conversations whose time has come are open again.
      await boss.schedule(SNOOZES_QUEUE, '* * * * *');
      await boss.work(SNOOZES_QUEUE, async () => {
        const woken = await deps.conversations.wakeDue(new Date());
        if (woken) log.info({ woken }, 'snoozed conversations reopened');
        return { woken };
      });
    },
    // The mail readers stop first, so that a message being read (perhaps for its whole budget) holds nothing up.
    stop: () => deps.inbound.close(),
  };
}
