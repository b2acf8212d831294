/** English strings of Settings > Backups (the installation's scheduled backups, read-only). */
export const backupsEn = {
  nav: 'Backups',
  heading: 'Backups',
  intro:
    'Archives of the whole installation (database, documents, mail) in the data folder. The operator runs `npm run backup`, or a worker makes them on the schedule; `npm run restore` brings one back.',
  schedule: (cron: string, keep: number) => `Scheduled: ${cron} (cron), the ${keep} newest kept.`,
  notScheduled: 'No schedule: set BACKUP_SCHEDULE (and BACKUP_KEEP) on the server to make backups automatically.',
  empty: 'No backups yet.',
  name: 'Name',
  size: 'Size',
  created: 'Made',
  adminsOnly: 'Only workspace owners and admins see the backups.',
};
