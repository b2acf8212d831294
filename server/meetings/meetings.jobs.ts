import type { PgBoss } from 'pg-boss';
import type { DomainJobs } from '../jobs/queue.ts';
import { HEARTBEAT_TIMEOUT_SECONDS } from './meetings.service.ts';

export const HEARTBEAT_SWEEP_QUEUE = 'meetings.heartbeat-timeouts';

interface Expirer {
  /** Ends the call inside its tenant if it is still silent under the meeting's lock; true when it ended it. */
  expire(tenantId: string, id: string, now: Date): Promise<boolean>;
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
export async function endSilentCalls(boss: PgBoss, meetings: Expirer, now: Date): Promise<number> {
  let ended = 0;
  for (const call of await silentCalls(boss, now)) {
    if (await meetings.expire(call.tenant_id, call.id, now)) ended++;
  }
  return ended;
}

/** Every minute: a call whose pages stopped reporting (closed tabs, lost connections) ends within 3 minutes. */
export function meetingsJobs(deps: { meetings: Expirer }): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(HEARTBEAT_SWEEP_QUEUE);
    },
    async work(boss, log) {
      await boss.schedule(HEARTBEAT_SWEEP_QUEUE, '* * * * *');
      await boss.work(HEARTBEAT_SWEEP_QUEUE, async () => {
        const ended = await endSilentCalls(boss, deps.meetings, new Date());
        if (ended) log.info({ ended }, 'silent video calls ended');
        return { ended };
      });
    },
  };
}
