/** The public newsletter pages' words, in English and Italian, picked by the browser's language. */

const en = {
  lang: 'en',
  notFoundTitle: 'This link is not valid',
  notFoundBody: 'It may have expired, been used already, or been copied incompletely.',
  formNotFoundTitle: 'This form is not available',
  tooManyTitle: 'Too many attempts',
  tooManyBody: (s: number) => `Please try again in ${s} seconds.`,
  badRequestTitle: 'Something is missing',
  // Unsubscribe and preferences
  unsubscribeTitle: 'Unsubscribe',
  unsubscribeAsk: (address: string, lists: string) => `Unsubscribe ${address} from ${lists}?`,
  allMailings: 'all mailings',
  unsubscribeButton: 'Unsubscribe',
  unsubscribedTitle: 'You are unsubscribed',
  unsubscribedBody: (address: string, lists: string) => `${address} will no longer receive ${lists}.`,
  unsubscribedShort: 'You will no longer receive these mailings.',
  preferencesTitle: 'Your subscriptions',
  preferencesHint: 'Tick the lists you want to receive.',
  unsubscribeAll: 'Unsubscribe from everything',
  unsubscribeAllHint: 'No mailing of this workspace will reach you.',
  statusUnconfirmed: 'waiting for confirmation',
  statusBounced: 'your address bounced',
  statusComplained: 'marked as spam',
  save: 'Save preferences',
  savedTitle: 'Preferences saved',
  savedBody: 'Your choices are in effect now.',
  // Subscribe
  subscribeTitle: (list: string) => `Subscribe to ${list}`,
  email: 'Email',
  firstName: 'First name',
  lastName: 'Last name',
  optional: 'optional',
  consentDefault: (list: string, workspace: string) =>
    `I agree to receive “${list}” by email from ${workspace}. I can unsubscribe at any time with the link in every message.`,
  subscribeButton: 'Subscribe',
  honeypot: 'Leave this field empty',
  emailInvalid: 'Enter a valid email address.',
  consentRequired: 'Tick the box to agree.',
  textChanged: 'The terms have just changed: please read them again.',
  checkInboxTitle: 'Check your inbox',
  checkInboxBody:
    'If the address can receive this list, a message is on its way. For a new subscription, open the link in it to confirm.',
  // Confirmation
  confirmTitle: 'Confirm your subscription',
  confirmAsk: (address: string, list: string) => `Subscribe ${address} to ${list}?`,
  confirmButton: 'Confirm subscription',
  confirmedTitle: 'Subscription confirmed',
  confirmedBody: (address: string, list: string) => `${address} is now subscribed to ${list}.`,
  mailSubject: (list: string) => `Confirm your subscription to ${list}`,
  mailBody: (list: string, workspace: string, link: string) =>
    `Hello,\n\nsomeone (hopefully you) asked to subscribe this address to “${list}” of ${workspace}.\n\nTo confirm, open this link within 48 hours:\n${link}\n\nIf it was not you, ignore this message: you will not be subscribed.\n`,
  footer: 'Sent with Filo',
};

export type PublicText = typeof en;

const it: PublicText = {
  lang: 'it',
  notFoundTitle: 'Questo link non è valido',
  notFoundBody: 'Potrebbe essere scaduto, già usato o copiato in modo incompleto.',
  formNotFoundTitle: 'Questo modulo non è disponibile',
  tooManyTitle: 'Troppi tentativi',
  tooManyBody: (s) => `Riprova tra ${s} secondi.`,
  badRequestTitle: 'Manca qualcosa',
  unsubscribeTitle: 'Annulla iscrizione',
  unsubscribeAsk: (address, lists) => `Annullare l’iscrizione di ${address} a ${lists}?`,
  allMailings: 'tutti gli invii',
  unsubscribeButton: 'Annulla iscrizione',
  unsubscribedTitle: 'Iscrizione annullata',
  unsubscribedBody: (address, lists) => `${address} non riceverà più ${lists}.`,
  unsubscribedShort: 'Non riceverai più questi invii.',
  preferencesTitle: 'Le tue iscrizioni',
  preferencesHint: 'Spunta le liste che vuoi ricevere.',
  unsubscribeAll: 'Annulla l’iscrizione a tutto',
  unsubscribeAllHint: 'Nessun invio di questo spazio di lavoro ti raggiungerà.',
  statusUnconfirmed: 'in attesa di conferma',
  statusBounced: 'il tuo indirizzo ha rifiutato la posta',
  statusComplained: 'segnalato come spam',
  save: 'Salva le preferenze',
  savedTitle: 'Preferenze salvate',
  savedBody: 'Le tue scelte sono già attive.',
  subscribeTitle: (list) => `Iscriviti a ${list}`,
  email: 'Email',
  firstName: 'Nome',
  lastName: 'Cognome',
  optional: 'facoltativo',
  consentDefault: (list, workspace) =>
    `Accetto di ricevere “${list}” via email da ${workspace}. Posso annullare l’iscrizione in qualsiasi momento con il link presente in ogni messaggio.`,
  subscribeButton: 'Iscriviti',
  honeypot: 'Lascia vuoto questo campo',
  emailInvalid: 'Inserisci un indirizzo email valido.',
  consentRequired: 'Spunta la casella per accettare.',
  textChanged: 'Le condizioni sono appena cambiate: rileggile, per favore.',
  checkInboxTitle: 'Controlla la tua casella',
  checkInboxBody:
    'Se l’indirizzo può ricevere questa lista, un messaggio è in arrivo. Per una nuova iscrizione, apri il link che contiene per confermare.',
  confirmTitle: 'Conferma la tua iscrizione',
  confirmAsk: (address, list) => `Iscrivere ${address} a ${list}?`,
  confirmButton: 'Conferma l’iscrizione',
  confirmedTitle: 'Iscrizione confermata',
  confirmedBody: (address, list) => `${address} è ora iscritto a ${list}.`,
  mailSubject: (list) => `Conferma la tua iscrizione a ${list}`,
  mailBody: (list, workspace, link) =>
    `Ciao,\n\nqualcuno (speriamo tu) ha chiesto di iscrivere questo indirizzo a “${list}” di ${workspace}.\n\nPer confermare, apri questo link entro 48 ore:\n${link}\n\nSe non sei stato tu, ignora questo messaggio: non verrai iscritto.\n`,
  footer: 'Inviato con Filo',
};

/** The language the browser prefers most among ours (Accept-Language with q-values); English otherwise. */
export function textFor(acceptLanguage: string | undefined): PublicText {
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = Number(
        params
          .find((p) => p.trim().startsWith('q='))
          ?.trim()
          .slice(2) ?? '1',
      );
      return { tag, q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((l) => l.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { tag } of ranked) {
    if (tag === 'it' || tag.startsWith('it-')) return it;
    if (tag === 'en' || tag.startsWith('en-')) return en;
  }
  return en;
}

export const TEXTS = { en, it };
