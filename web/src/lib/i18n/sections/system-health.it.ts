import type { systemHealthEn } from './system-health.en.ts';

/** Stringhe italiane di Impostazioni > Sistema (lo stato dell'installazione: database, Redis, code dei job). */
export const systemHealthIt: typeof systemHealthEn = {
  nav: 'Sistema',
  heading: 'Stato del sistema',
  intro:
    "L'installazione come la vede questo server, aggiornata ogni pochi secondi. Gli operatori trovano lo stesso su /readyz e /metrics.",
  ready: 'Pronto',
  notReady: 'Non pronto',
  degraded:
    'In funzione senza Redis: gli aggiornamenti in tempo reale raggiungono solo chi è collegato a questo server finché non torna.',
  checks: { database: 'Database', migrations: 'Migrazioni', redis: 'Redis' },
  results: { ok: 'OK', error: 'Errore', pending: 'In attesa', unknown: 'Sconosciuto', down: 'Non raggiungibile' },
  queues: 'Code dei job',
  queue: 'Coda',
  depth: 'In attesa',
  oldest: 'Il più vecchio in attesa',
  seconds: (s: number) =>
    s < 60
      ? `${Math.round(s)} s`
      : s < 3600
        ? `${Math.round(s / 60)} min`
        : `${(s / 3600).toFixed(1).replace('.', ',')} h`,
  noQueues: 'Nessuna coda di job su questo server.',
  checkedAt: 'Controllato alle',
  adminsOnly: 'Solo i proprietari e gli amministratori dello spazio di lavoro vedono lo stato del sistema.',
  unreachable: 'Impossibile raggiungere il server.',
};
