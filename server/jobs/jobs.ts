import { PgBoss } from 'pg-boss';
import type { Logger } from '../logger.ts';
import type { Services } from '../services.ts';
import { IMPORT_QUEUE } from '../crm/imports.service.ts';

export const QUEUES = {
  purgeSessions: 'sessions.purge-expired',
  import: IMPORT_QUEUE,
} as const;

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
  const boss = new PgBoss({ connectionString: deps.databaseUrl, schema: 'pgboss', max: 5 });
  boss.on('error', (err) => log.error({ err }, 'pg-boss error'));
  await boss.start();
  await boss.createQueue(QUEUES.purgeSessions);
  await boss.createQueue(QUEUES.import, { retryLimit: 2, retryDelay: 5 });
  deps.services.imports.enqueue = async (importId, tenantId) => {
    await boss.send(QUEUES.import, { importId, tenantId }, { singletonKey: importId });
  };
  if (deps.work) {
    await boss.schedule(QUEUES.purgeSessions, '17 * * * *');
    await boss.work(QUEUES.purgeSessions, async () => {
      const purged = await deps.services.sessions.purgeExpired();
      log.info({ purged }, 'expired sessions purged');
      return { purged };
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
