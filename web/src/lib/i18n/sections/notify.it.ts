import type { notifyEn } from './notify.en.ts';

/** Stringhe italiane delle notifiche fuori da Filo: notifiche del browser ed email di quelle non lette. */
export const notifyIt: typeof notifyEn = {
  nav: 'Notifiche',
  heading: 'Notifiche fuori da Filo',
  intro: 'Menzioni, assegnazioni, promemoria delle attività e inviti possono raggiungerti quando non guardi Filo.',
  browserHeading: 'In questo browser',
  browser: 'Mostra una notifica di sistema quando tutte le schede di Filo sono in secondo piano',
  browserBlocked: 'Questo browser blocca le notifiche di Filo: consentile nelle impostazioni del sito, poi ricarica.',
  browserUnsupported: 'Questo browser non può mostrare notifiche.',
  browserAsk: 'Consenti le notifiche',
  emailHeading: 'Per email',
  emailWhen: 'Mandami un’email per ciò che non ho letto',
  delays: {
    never: 'Mai',
    minutes: (n: number) => `Dopo ${n} minuti`,
    daily: 'Una volta al giorno (riepilogo delle 08:00)',
  },
  emailTypes: 'Per',
  types: {
    mention: 'Menzioni',
    assignment: 'Conversazioni assegnate a me',
    task_reminder: 'Promemoria delle attività',
    task_assigned: 'Attività assegnate a me',
    meeting_invitation: 'Inviti alle riunioni',
    webhook_disabled: 'Webhook disattivati dopo errori',
  },
  saved: 'Salvato',
  saving: 'Salvataggio…',
  banner: 'Ricevi una notifica quando Filo è in secondo piano',
  bannerHint: 'Una notifica di sistema per menzioni e assegnazioni mentre lavori altrove.',
  bannerAllow: 'Attiva',
  bannerDismiss: 'Non ora',
  bannerSettings: 'Impostazioni delle notifiche',
  systemTitle: 'Filo',
  system: {
    taskReminder: (title: string) => `Promemoria: ${title}`,
    taskAssigned: (actor: string, title: string) => `${actor} ti ha assegnato un’attività: ${title}`,
    meetingInvitation: (actor: string, title: string) => `${actor} ti ha invitato a “${title}”`,
  },
};
