/** The words of the notice emails, in English and Italian (the recipient's language, English when unknown). */

export type MailLang = 'en' | 'it';

const en = {
  hello: (name: string) => `Hello ${name},`,
  intro: (workspace: string) => `you have notifications in ${workspace} that you have not read yet:`,
  digestIntro: (workspace: string) => `here is what is still unread in ${workspace}:`,
  subjectMany: (n: number, workspace: string) => `${n} notifications are waiting for you in ${workspace}`,
  subjectDigest: (n: number, workspace: string) =>
    `Your daily summary of ${workspace}: ${n} unread ${n === 1 ? 'notification' : 'notifications'}`,
  someone: 'Someone',
  aRecord: 'a record',
  aConversation: 'a conversation',
  mention: (who: string, where: string) => `${who} mentioned you on ${where}`,
  assignment: (who: string, subject: string) => `${who} assigned you the conversation “${subject}”`,
  taskReminder: (title: string) => `Reminder: ${title}`,
  taskAssigned: (who: string, title: string) => `${who} gave you a task: ${title}`,
  meetingInvitation: (who: string, title: string) => `${who} invited you to “${title}”`,
  webhookDisabled: (url: string) => `Your webhook to ${url} was turned off`,
  due: (when: string) => `Due ${when}`,
  starts: (when: string) => `Starts ${when}`,
  notice: 'You have a new notification',
  open: 'Open',
  footer: 'You get these emails because of your notification preferences. Change or stop them here:',
  preferences: 'Notification preferences',
};

export type MailText = typeof en;

const it: MailText = {
  hello: (name: string) => `Ciao ${name},`,
  intro: (workspace: string) => `hai notifiche in ${workspace} che non hai ancora letto:`,
  digestIntro: (workspace: string) => `ecco cosa resta da leggere in ${workspace}:`,
  subjectMany: (n: number, workspace: string) => `${n} notifiche ti aspettano in ${workspace}`,
  subjectDigest: (n: number, workspace: string) =>
    `Il riepilogo quotidiano di ${workspace}: ${n} ${n === 1 ? 'notifica' : 'notifiche'} da leggere`,
  someone: 'Qualcuno',
  aRecord: 'una scheda',
  aConversation: 'una conversazione',
  mention: (who: string, where: string) => `${who} ti ha menzionato su ${where}`,
  assignment: (who: string, subject: string) => `${who} ti ha assegnato la conversazione “${subject}”`,
  taskReminder: (title: string) => `Promemoria: ${title}`,
  taskAssigned: (who: string, title: string) => `${who} ti ha assegnato un’attività: ${title}`,
  meetingInvitation: (who: string, title: string) => `${who} ti ha invitato a “${title}”`,
  webhookDisabled: (url: string) => `Il tuo webhook verso ${url} è stato disattivato`,
  due: (when: string) => `Scadenza ${when}`,
  starts: (when: string) => `Inizio ${when}`,
  notice: 'Hai una nuova notifica',
  open: 'Apri',
  footer: 'Ricevi queste email per le tue preferenze di notifica. Puoi cambiarle o disattivarle qui:',
  preferences: 'Preferenze di notifica',
};

export const mailText = (lang: MailLang): MailText => (lang === 'it' ? it : en);

/** `it` for a user who chose Italian, English otherwise. */
export const mailLang = (locale: string | null | undefined): MailLang =>
  locale?.toLowerCase().startsWith('it') ? 'it' : 'en';
