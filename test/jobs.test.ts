import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../server/jobs/jobs.ts';
import { login, startTestFilo, type TestFilo } from './support/harness.ts';

let filo: TestFilo;
beforeAll(async () => {
  filo = await startTestFilo({ ROLES: 'web,worker' });
});
afterAll(() => filo?.close());

const sessionCount = async () =>
  (await filo.orm.em.getConnection().execute<{ n: number }[]>(`select count(*)::int as n from sessions`))[0]!.n;

/** Waits for a job to reach a final state, by asking pg-boss (bounded: fails the test after 20 s). */
async function settled(queue: string, id: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const job = await filo.jobs!.boss.getJobById(queue, id);
    if (job && ['completed', 'failed', 'cancelled'].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job?.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('jobs', () => {
  it('schedules the hourly purge of expired sessions', async () => {
    const schedules = await filo.jobs!.boss.getSchedules(QUEUES.purgeSessions);
    expect(schedules.map((s) => s.cron)).toEqual(['17 * * * *']);
  });

  it('purges expired sessions, and only those, when the job runs', async () => {
    const live = await login(filo.baseUrl);
    await login(filo.baseUrl);
    await filo.orm.em
      .getConnection()
      .execute(
        `update sessions set expires_at = now() - interval '1 minute' where token_hash <> (select token_hash from sessions order by created_at asc limit 1)`,
      );
    expect(await sessionCount()).toBe(2);
    const id = await filo.jobs!.boss.send(QUEUES.purgeSessions, {});
    const job = await settled(QUEUES.purgeSessions, id!);
    expect(job.state).toBe('completed');
    expect(job.output).toEqual({ purged: 1 });
    expect(await sessionCount()).toBe(1);
    const me = await fetch(`${filo.baseUrl}/api/auth/me`, { headers: { cookie: live } });
    expect(me.status).toBe(200);
  });
});
