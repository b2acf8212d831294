import { PgBoss, type JobWithMetadata } from 'pg-boss';
import type { Logger } from '../logger.ts';
import type { Services } from '../services.ts';
import { IMPORT_QUEUE } from '../crm/imports.service.ts';
import { INBOUND_QUEUE, type InboundJob } from '../../mail-gateway/inbound-store.ts';
import { BudgetExceeded, ReadersClosed } from '../inbox/inbound/worker-pool.ts';
import { HEARTBEAT_TIMEOUT_SECONDS } from '../meetings/meetings.service.ts';
import { OUTBOUND_QUEUE, OutboundService, type OutboundJob } from '../outbound/outbound.service.ts';
import { grantEnqueue } from './queue.ts';

export const QUEUES = {
  purgeSessions: 'sessions.purge-expired',
  import: IMPORT_QUEUE,
  inbound: INBOUND_QUEUE,
  meetingTimeouts: 'meetings.heartbeat-timeouts',
  outbound: OUTBOUND_QUEUE,
  snoozes: 'inbox.snoozes-ended',
} as const;

/**
 * Tries per message (after 5 s, then 20 s) before it stays `failed` until retried by hand. A message that passed its
 * time budget is not tried again by itself (the same bytes would take as long), nor one interrupted by a shutdown
 * (it stays `received`: the next start queues it again).
 */
const INBOUND_ATTEMPTS = 3;

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
                           where j.name = '${QUEUES.inbound}' and j.id = m.id and j.state in ('created', 'retry', 'active'))
        order by m.created_at limit 100000`,
  )) as { rows: { id: string; tenant_id: string }[] };
  for (let i = 0; i < rows.length; i += 500) {
    await boss.insert(
      QUEUES.inbound,
      rows.slice(i, i + 500).map((r) => ({ data: { inboundId: r.id, tenantId: r.tenant_id } })),
    );
  }
  return rows.length;
}

/**
 * Calls in progress from which nobody has reported for the heartbeat timeout, across workspaces (as the schema
 * owner, like pg-boss itself); each is then ended inside its own tenant, rechecked under the meeting's lock.
 */
async function silentCalls(boss: PgBoss, now: Date): Promise<{ id: string; tenant_id: string }[]> {
  const { rows } = (await boss.getDb().executeSql(
    `select m.id, m.tenant_id from video_meetings m
      where m.status = 'in_progress'
        and not exists (select 1 from meeting_attendees a
                         where a.tenant_id = m.tenant_id and a.meeting_id = m.id
                           and a.left_at is null and a.last_seen_at > $1)
      limit 1000`,
    [new Date(now.getTime() - HEARTBEAT_TIMEOUT_SECONDS * 1000)],
  )) as { rows: { id: string; tenant_id: string }[] };
  return rows;
}

/**
 * One run of the heartbeat sweep at `now` (the worker passes the clock; tests pass a later time instead of
 * waiting): every silent call ends, as Filo. Returns how many it ended.
 */
export async function endSilentCalls(boss: PgBoss, meetings: Services['meetings'], now: Date): Promise<number> {
  let ended = 0;
  for (const call of await silentCalls(boss, now)) {
    if (await meetings.expire(call.tenant_id, call.id, now)) ended++;
  }
  return ended;
}

export interface Jobs {
  boss: PgBoss;
  stop(): Promise<void>;
}

/** pg-boss in the same PostgreSQL: queues, schedules and the workers of this process (role `worker`). */
export async function startJobs(deps: {
  databaseUrl: string;
  services: Services;
  log: Logger;
  work: boolean;
}): Promise<Jobs> {
  const log = deps.log.child({ component: 'jobs' });
  const boss = new PgBoss({ connectionString: deps.databaseUrl, schema: 'pgboss', max: 5, useListenNotify: true });
  boss.on('error', (err) => log.error({ err }, 'pg-boss error'));
  await boss.start();
  await boss.createQueue(QUEUES.purgeSessions);
  await boss.createQueue(QUEUES.import, { retryLimit: 2, retryDelay: 5 });
  await boss.createQueue(QUEUES.meetingTimeouts);
  await boss.createQueue(QUEUES.snoozes);
  // NOTIFY wakes a worker the moment mail is accepted; a worker that dies mid-batch stops its heartbeat and the
  // jobs come back after 10 s instead of pg-boss's default 15 minutes. (A message that fails is tried again by
  // the handler below with its own backoff: a batch's handler never fails as a whole.)
  await boss.createQueue(QUEUES.inbound, {
    notify: true,
    heartbeatSeconds: 10,
  });
  deps.services.inbound.enqueue = async (job: InboundJob) => {
    await boss.send(QUEUES.inbound, job);
  };
  // Outgoing mail: a temporary failure (4xx, no connection) is tried again after 10 s, 20 s, 40 s… (about an hour in
  // all); a permanent refusal fails the message at once. NOTIFY wakes a worker as soon as a reply is queued.
  await boss.createQueue(QUEUES.outbound, {
    retryLimit: 8,
    retryDelay: 10,
    retryBackoff: true,
    retryDelayMax: 1800,
    notify: true,
    heartbeatSeconds: 30,
  });
  deps.services.outbound.enqueue = async (job: OutboundJob) => {
    await boss.send(QUEUES.outbound, job, { retryDelay: deps.services.outbound.retryDelaySeconds });
  };
  deps.services.imports.enqueue = async (importId, tenantId) => {
    await boss.send(QUEUES.import, { importId, tenantId }, { singletonKey: importId });
  };
  // Services enqueue through the port inside their own transactions, as the application role.
  await grantEnqueue(boss, deps.databaseUrl);
  deps.services.queue.boss = boss;
  if (deps.work) {
    // Batches, fetched back to back while they come full: one job at a time would wait out a polling interval
    // between jobs. Each message succeeds or fails on its own; a failed one is tried again later by a new job.
    await boss.work<InboundJob>(
      QUEUES.inbound,
      {
        batchSize: 10,
        localConcurrency: 2,
        burstWhenBatchFull: true,
        pollingIntervalSeconds: 1,
        notifyPollingIntervalSeconds: 2,
      },
      async (batch) => {
        await Promise.all(
          batch.map(async (job) => {
            try {
              const outcome = await deps.services.inbound.process(job.data);
              // Auto-reply rules, on customer messages only (never bounces, auto-replies, lists or duplicates).
              if (outcome === 'processed')
                await deps.services.rules.apply(job.data, deps.services).catch((err: unknown) => {
                  log.warn({ err, inboundId: job.data.inboundId }, 'auto-reply rules failed');
                });
              log.debug({ inboundId: job.data.inboundId, outcome }, 'inbound message processed');
            } catch (err) {
              if (err instanceof ReadersClosed) return;
              const attempt = (job.data.attempt ?? 0) + 1;
              log.error({ err, inboundId: job.data.inboundId, attempt }, 'inbound message processing failed');
              if (attempt < INBOUND_ATTEMPTS && !(err instanceof BudgetExceeded))
                await boss.send(QUEUES.inbound, { ...job.data, attempt }, { startAfter: 5 * 4 ** (attempt - 1) });
            }
          }),
        );
      },
    );
    await boss.work(
      QUEUES.outbound,
      {
        includeMetadata: true,
        batchSize: 1,
        localConcurrency: 2,
        pollingIntervalSeconds: 1,
        // Retries come due without a NOTIFY: look for them every second.
        notifyPollingIntervalSeconds: 1,
      },
      async ([job]: JobWithMetadata<OutboundJob>[]) => {
        const outcome = await deps.services.outbound.send(job!.data, { final: job!.retryCount >= job!.retryLimit });
        log.info({ messageId: job!.data.messageId, outcome }, 'outbound message handled');
        return { outcome };
      },
    );
    // Replies committed as queued whose job never ran (a crash between commit and enqueue): queued again.
    await boss
      .getDb()
      .executeSql(OutboundService.PENDING_SQL)
      .then(async ({ rows }: { rows: { id: string; tenant_id: string }[] }) => {
        for (let i = 0; i < rows.length; i += 500)
          await boss.insert(
            QUEUES.outbound,
            rows.slice(i, i + 500).map((r) => ({
              data: { messageId: r.id, tenantId: r.tenant_id },
              retryDelay: deps.services.outbound.retryDelaySeconds,
            })),
          );
        if (rows.length) log.info({ requeued: rows.length }, 'outbound messages queued again after a restart');
      })
      .catch((err: unknown) => log.error({ err }, 'could not requeue outbound messages'));
    await requeueReceived(boss).then(
      (n) => n && log.info({ requeued: n }, 'inbound messages queued again after a restart'),
      (err: unknown) => log.error({ err }, 'could not requeue inbound messages'),
    );
    await boss.schedule(QUEUES.purgeSessions, '17 * * * *');
    await boss.work(QUEUES.purgeSessions, async () => {
      const purged = await deps.services.sessions.purgeExpired();
      log.info({ purged }, 'expired sessions purged');
      return { purged };
    });
    // Every minute: a call whose pages stopped reporting (closed tabs, lost connections) ends within 3 minutes.
    await boss.schedule(QUEUES.meetingTimeouts, '* * * * *');
    await boss.work(QUEUES.meetingTimeouts, async () => {
      const ended = await endSilentCalls(boss, deps.services.meetings, new Date());
      if (ended) log.info({ ended }, 'silent video calls ended');
      return { ended };
    });
    // Every minute: snoozed conversations whose time has come are open again.
    await boss.schedule(QUEUES.snoozes, '* * * * *');
    await boss.work(QUEUES.snoozes, async () => {
      const woken = await deps.services.conversations.wakeDue(new Date());
      if (woken) log.info({ woken }, 'snoozed conversations reopened');
      return { woken };
    });
    await boss.work<{ importId: string; tenantId: string }>(QUEUES.import, async ([job]) => {
      const { importId, tenantId } = job!.data;
      const done = await deps.services.imports.run(importId, tenantId, (userId) =>
        deps.services.team.actorFor(tenantId, userId),
      );
      log.info({ importId, status: done.status, created: done.createdRows }, 'import finished');
      return { status: done.status, created: done.createdRows, errors: done.errors.length };
    });
  }
  return {
    boss,
    // Graceful: running handlers finish (up to the timeout) before the connection pool closes; the mail readers are
    // stopped first, so that a message being read (perhaps for its whole budget) holds nothing up.
    stop: async () => {
      deps.services.queue.boss = undefined;
      await deps.services.inbound.close();
      await boss.stop({ graceful: true, timeout: 8_000 });
    },
  };
}
