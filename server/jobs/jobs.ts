import { PgBoss } from 'pg-boss';
import type { Logger } from '../logger.ts';
import type { Services } from '../services.ts';
import { IMPORT_QUEUE } from '../crm/imports.service.ts';
import { INBOUND_QUEUE, type InboundJob } from '../../mail-gateway/inbound-store.ts';
import { HEARTBEAT_TIMEOUT_SECONDS } from '../meetings/meetings.service.ts';

export const QUEUES = {
  purgeSessions: 'sessions.purge-expired',
  import: IMPORT_QUEUE,
  inbound: INBOUND_QUEUE,
  meetingTimeouts: 'meetings.heartbeat-timeouts',
} as const;

/** Tries per message (after 5 s, then 20 s) before it stays `failed` until retried by hand. */
const INBOUND_ATTEMPTS = 3;

/**
 * Every accepted message not yet processed gets a job again when a worker starts: its first job may have died
 * with a crashed worker. Processing is idempotent (row lock + status check), so an extra job is a no-op.
 */
async function requeueReceived(boss: PgBoss): Promise<number> {
  const { rows } = (await boss
    .getDb()
    .executeSql(
      `select id, tenant_id from inbound_messages where status = 'received' order by created_at limit 100000`,
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
  // NOTIFY wakes a worker the moment mail is accepted; a worker that dies mid-job stops its heartbeat and the
  // job is retried after 10 s instead of pg-boss's default 15 minutes.
  // NOTIFY wakes a worker the moment mail is accepted; a worker that dies mid-batch stops its heartbeat and the
  // jobs are retried after 10 s instead of pg-boss's default 15 minutes.
  await boss.createQueue(QUEUES.inbound, {
    retryLimit: 3,
    retryDelay: 5,
    retryBackoff: true,
    notify: true,
    heartbeatSeconds: 10,
  });
  deps.services.inbound.enqueue = async (job: InboundJob) => {
    await boss.send(QUEUES.inbound, job);
  };
  deps.services.imports.enqueue = async (importId, tenantId) => {
    await boss.send(QUEUES.import, { importId, tenantId }, { singletonKey: importId });
  };
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
              log.debug({ inboundId: job.data.inboundId, outcome }, 'inbound message processed');
            } catch (err) {
              const attempt = (job.data.attempt ?? 0) + 1;
              log.error({ err, inboundId: job.data.inboundId, attempt }, 'inbound message processing failed');
              if (attempt < INBOUND_ATTEMPTS)
                await boss.send(QUEUES.inbound, { ...job.data, attempt }, { startAfter: 5 * 4 ** (attempt - 1) });
            }
          }),
        );
      },
    );
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
      const now = new Date();
      let ended = 0;
      for (const call of await silentCalls(boss, now)) {
        if (await deps.services.meetings.expire(call.tenant_id, call.id, now)) ended++;
      }
      if (ended) log.info({ ended }, 'silent video calls ended');
      return { ended };
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
    // Graceful: running handlers finish (up to the timeout) before the connection pool closes.
    stop: () => boss.stop({ graceful: true, timeout: 8_000 }),
  };
}
