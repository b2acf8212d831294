import type { backupsEn } from './backups.en.ts';

/** Stringhe italiane di Impostazioni > Backup (i backup pianificati dell'installazione, in sola lettura). */
export const backupsIt: typeof backupsEn = {
  nav: 'Backup',
  heading: 'Backup',
  intro:
    "Archivi dell'intera installazione (database, documenti, posta) nella cartella dei dati. L'operatore esegue `npm run backup`, oppure un worker li crea secondo la pianificazione; `npm run restore` ne ripristina uno.",
  schedule: (cron: string, keep: number) => `Pianificati: ${cron} (cron), si tengono i ${keep} più recenti.`,
  notScheduled:
    'Nessuna pianificazione: imposta BACKUP_SCHEDULE (e BACKUP_KEEP) sul server per creare i backup in automatico.',
  empty: 'Ancora nessun backup.',
  name: 'Nome',
  size: 'Dimensione',
  created: 'Creato',
  adminsOnly: 'Solo i proprietari e gli amministratori dello spazio di lavoro vedono i backup.',
};
