import type { PgBoss } from 'pg-boss';
import type { DomainJobs } from '../jobs/queue.ts';
import { MESSAGING_EVENT_QUEUE, NotYet, type MessagingEventJob, type MessagingInbound } from './inbound.service.ts';
import { MESSAGING_SEND_QUEUE, type MessagingOutbound, type MessagingSendJob } from './outbound.service.ts';

/** A status callback waiting for its message's send to commit is tried this many times (1 s apart, then more). */
const EVENT_ATTEMPTS = 6;

const UNCONFIRMED_QUEUE = 'messaging.unconfirmed';
/** A send is answered in seconds; one `sending` for this long lost its answer (a crash, a failed write). */
export const UNCONFIRMED_AFTER_MS = 10 * 60_000;

/**
 * As the schema owner: messages `sending` since before `before`, in every workspace, each failed in words by the
 * service (under its tenant) as unconfirmed. Returns how many.
 */
export async function sweepUnconfirmed(
  boss: PgBoss,
  outbound: Pick<MessagingOutbound, 'unconfirmed'>,
  before: Date,
): Promise<number> {
  const { rows } = (await boss.getDb().executeSql(
    `select id, tenant_id from messages
      where status = 'sending' and messaging_account_id is not null and status_at < $1
      order by status_at limit 1000`,
    [before.toISOString()],
  )) as { rows: { id: string; tenant_id: string }[] };
  let failed = 0;
  for (const row of rows) if (await outbound.unconfirmed(row.tenant_id, row.id, before)) failed++;
  return failed;
}

/** As the schema owner after a restart: stored events not processed, and queued messages, get a job again. */
async function requeue(boss: PgBoss): Promise<number> {
  const { rows: events } = (await boss.getDb().executeSql(
    `select e.id, e.tenant_id from messaging_events e
      where e.status = 'received'
        and not exists (select 1 from pgboss.job j where j.name = '${MESSAGING_EVENT_QUEUE}'
                         and j.data->>'eventId' = e.id::text and j.state in ('created', 'retry', 'active'))
      order by e.created_at limit 100000`,
  )) as { rows: { id: string; tenant_id: string }[] };
  for (let i = 0; i < events.length; i += 500)
    await boss.insert(
      MESSAGING_EVENT_QUEUE,
      events.slice(i, i + 500).map((r) => ({ data: { tenantId: r.tenant_id, eventId: r.id } })),
    );
  const { rows: queued } = (await boss.getDb().executeSql(
    `select m.id, m.tenant_id from messages m
      where m.direction = 'outbound' and m.status = 'queued' and m.messaging_account_id is not null
        and not exists (select 1 from pgboss.job j where j.name = '${MESSAGING_SEND_QUEUE}'
                         and j.data->>'messageId' = m.id::text and j.state in ('created', 'retry', 'active'))
      order by m.created_at limit 100000`,
  )) as { rows: { id: string; tenant_id: string }[] };
  for (let i = 0; i < queued.length; i += 500)
    await boss.insert(
      MESSAGING_SEND_QUEUE,
      queued.slice(i, i + 500).map((r) => ({ data: { tenantId: r.tenant_id, messageId: r.id } })),
    );
  return events.length + queued.length;
}

/** Messaging: stored webhook events processed once; messages handed to their provider (retries decided by the job). */
export function messagingJobs(deps: {
  inbound: Pick<MessagingInbound, 'process'>;
  outbound: Pick<MessagingOutbound, 'deliver' | 'unconfirmed'>;
}): DomainJobs {
  return {
    async queues(boss) {
      // NOTIFY wakes a worker as soon as a webhook is stored: the inbox hears of the message within milliseconds.
      await boss.createQueue(MESSAGING_EVENT_QUEUE, { notify: true, heartbeatSeconds: 10 });
      await boss.createQueue(MESSAGING_SEND_QUEUE, { notify: true, heartbeatSeconds: 30 });
      await boss.createQueue(UNCONFIRMED_QUEUE);
    },
    async work(boss, log) {
      await boss.work<MessagingEventJob & { attempt?: number }>(
        MESSAGING_EVENT_QUEUE,
        { batchSize: 10, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
        async (batch) => {
          await Promise.all(
            batch.map(async (job) => {
              const attempt = (job.data.attempt ?? 0) + 1;
              try {
                await deps.inbound.process(job.data, { final: attempt >= EVENT_ATTEMPTS });
              } catch (err) {
                if (!(err instanceof NotYet))
                  log.error({ err, eventId: job.data.eventId, attempt }, 'messaging event processing failed');
                if (attempt < EVENT_ATTEMPTS)
                  await boss.send(MESSAGING_EVENT_QUEUE, { ...job.data, attempt }, { startAfter: attempt });
              }
            }),
          );
        },
      );
      await boss.work<MessagingSendJob>(
        MESSAGING_SEND_QUEUE,
        { batchSize: 1, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
        async ([job]) => {
          const outcome = await deps.outbound.deliver(job!.data);
          log.debug({ messageId: job!.data.messageId, outcome }, 'messaging send handled');
          return { outcome };
        },
      );
      await boss.schedule(UNCONFIRMED_QUEUE, '*/5 * * * *');
      await boss.work(UNCONFIRMED_QUEUE, async () => {
        const failed = await sweepUnconfirmed(boss, deps.outbound, new Date(Date.now() - UNCONFIRMED_AFTER_MS));
        if (failed) log.warn({ failed }, 'messages whose send was never confirmed marked failed');
      });
      await requeue(boss).then(
        (n) => n && log.info({ requeued: n }, 'messaging events and sends queued again after a restart'),
        (err: unknown) => log.error({ err }, 'could not requeue messaging work'),
      );
    },
  };
}
