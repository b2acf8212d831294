import { PgBoss } from 'pg-boss';
import type { Logger } from '../logger.ts';
import type { Services } from '../services.ts';

export const QUEUES = {
  purgeSessions: 'sessions.purge-expired',
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
  if (deps.work) {
    await boss.schedule(QUEUES.purgeSessions, '17 * * * *');
    await boss.work(QUEUES.purgeSessions, async () => {
      const purged = await deps.services.sessions.purgeExpired();
      log.info({ purged }, 'expired sessions purged');
      return { purged };
    });
  }
  return {
    boss,
    // Graceful: running handlers finish (up to the timeout) before the connection pool closes.
    stop: () => boss.stop({ graceful: true, timeout: 8_000 }),
  };
}
