import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../server/jobs/jobs.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
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

describe('job-queue port', () => {
  const QUEUE = 'test.port';
  /** As the schema owner (pg-boss's connection): the jobs of the test queue carrying `mark`. */
  const jobsMarked = async (mark: string) =>
    (
      await filo
        .jobs!.boss.getDb()
        .executeSql(`select id, singleton_key from pgboss.job where name = $1 and data->>'mark' = $2`, [QUEUE, mark])
    ).rows as { id: string; singleton_key: string | null }[];
  let tenantId: string;

  beforeAll(async () => {
    await filo.jobs!.boss.createQueue(QUEUE);
    tenantId = ((await filo.jobs!.boss.getDb().executeSql(`select id from tenants limit 1`)).rows[0] as { id: string })
      .id;
  });

  it('inserts the job in the transaction that commits, through the ORM connection of the application role', async () => {
    const user = await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
      await filo.services.queue.send(QUEUE, { mark: 'committed' }, { uow, singletonKey: 'k1' });
      // Inside the transaction only: nobody else sees the job before the commit.
      expect(await jobsMarked('committed')).toEqual([]);
      return (await uow.em.execute<{ u: string }[]>('select current_user as u'))[0]!.u;
    });
    expect(user).toMatch(/_app$/);
    expect(await jobsMarked('committed')).toEqual([expect.objectContaining({ singleton_key: 'k1' })]);
  });

  it('leaves no job behind when the transaction rolls back', async () => {
    await expect(
      inTenant(filo.orm, systemActor(tenantId), async (uow) => {
        await filo.services.queue.send(QUEUE, { mark: 'rolled-back' }, { uow });
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    expect(await jobsMarked('rolled-back')).toEqual([]);
  });

  it('queues an import in the transaction of its row: no job, no row', async () => {
    const asOwner = async (sql: string, values: unknown[] = []) =>
      (await filo.jobs!.boss.getDb().executeSql(sql, values)).rows as Record<string, unknown>[];
    const [owner] = await asOwner(`select user_id from memberships where tenant_id = $1 and role = 'owner'`, [
      tenantId,
    ]);
    const actor = (await filo.services.team.actorFor(tenantId, owner!.user_id as string))!;
    const csv = () => ({ name: 'few.csv', stream: Readable.from(['name,type\nPort Srl,client\n']) });
    const imported = await filo.services.imports.create(actor, 'company', csv());
    expect(
      await asOwner(`select id from pgboss.job where name = $1 and singleton_key = $2`, [QUEUES.import, imported.id]),
    ).toHaveLength(1);
    const imports = async () => (await asOwner(`select count(*)::int as n from imports`))[0]!.n;
    const before = await imports();
    // A queue that is gone makes the job's insert fail: the import's row goes with it.
    await filo.jobs!.boss.deleteQueue(QUEUES.import);
    try {
      await expect(filo.services.imports.create(actor, 'company', csv())).rejects.toThrow(/does not exist/);
      expect(await imports()).toBe(before);
    } finally {
      await filo.jobs!.boss.createQueue(QUEUES.import, { retryLimit: 2, retryDelay: 5 });
    }
  });

  it('refuses a send outside a transaction', async () => {
    await expect(
      filo.services.queue.send(QUEUE, { mark: 'outside' }, { uow: { em: filo.orm.em.fork() } }),
    ).rejects.toThrow(/inside a transaction/);
    expect(await jobsMarked('outside')).toEqual([]);
  });

  it('gives the application role no reading of job data, nor fetching or deleting jobs', async () => {
    const asApp = (sql: string) =>
      inTenant(filo.orm, systemActor(tenantId), (uow) =>
        uow.em.getConnection().execute(sql, [], 'all', uow.em.getTransactionContext()),
      );
    await expect(asApp(`select data from pgboss.job_common limit 1`)).rejects.toThrow(/permission denied/);
    await expect(asApp(`delete from pgboss.job_common`)).rejects.toThrow(/permission denied/);
    await expect(asApp(`update pgboss.job_common set state = 'active'`)).rejects.toThrow(/permission denied/);
  });
});
