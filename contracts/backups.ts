import { z } from './zod.ts';
import { isoDate } from './common.ts';

/** One archive in `$DATA_DIR/backups` (Settings > Backups; the installation's, read-only). */
export const backupFile = z.object({ name: z.string(), sizeBytes: z.number().int().min(0), createdAt: isoDate });
export type BackupFile = z.infer<typeof backupFile>;

export const backupList = z.object({
  items: z.array(backupFile),
  /** BACKUP_SCHEDULE (cron), null when backups are not scheduled. */
  schedule: z.string().nullable(),
  keep: z.number().int().min(1),
});
export type BackupList = z.infer<typeof backupList>;
