import type { DomainJobs } from '../../jobs/queue.ts';
import { createBackup, defaultBackupDir } from './backup.ts';
import { pruneBackups } from './backups.service.ts';

export const BACKUP_QUEUE = 'ops.backup';

/**
 * BACKUP_SCHEDULE: pg-boss's cron sends one job per tick for the whole cluster, and the queue's `singleton`
 * policy lets only one backup run at a time on any node; after each, all but the BACKUP_KEEP newest are deleted.
 */
export function backupJobs(deps: {
  /** The owner's URL: the dump reads every workspace's rows. */
  databaseUrl: string;
  dataDir: string;
  schedule: string | undefined;
  keep: number;
}): DomainJobs {
  return {
    async queues(boss) {
      // A large database takes long to dump: the job may run for hours before pg-boss gives up on it.
      await boss.createQueue(BACKUP_QUEUE, { policy: 'singleton', expireInSeconds: 6 * 3600, retryLimit: 1 });
    },
    async work(boss, log) {
      // Unsetting the variable stops the backups the schedule made before.
      if (deps.schedule) await boss.schedule(BACKUP_QUEUE, deps.schedule);
      else await boss.unschedule(BACKUP_QUEUE);
      await boss.work(BACKUP_QUEUE, async () => {
        const dir = defaultBackupDir(deps.dataDir);
        const backup = await createBackup({
          databaseUrl: deps.databaseUrl,
          dataDir: deps.dataDir,
          destination: dir,
          log,
        });
        const removed = await pruneBackups(dir, deps.keep);
        log.info({ archive: backup.path, size: backup.size, removed }, 'scheduled backup written');
        return { archive: backup.path, size: backup.size, removed };
      });
    },
  };
}
