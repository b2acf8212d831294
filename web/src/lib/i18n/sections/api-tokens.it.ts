import type { apiTokensEn } from './api-tokens.en.ts';

/** Stringhe italiane di Impostazioni > Token API: permessi, scadenza e limite di richieste. */
export const apiTokensIt: typeof apiTokensEn = {
  access: 'Accesso',
  accessModes: { full: 'Accesso completo, ogni area', read: 'Sola lettura, ogni area', scoped: 'Aree scelte' },
  grantsLegend: 'Cosa può fare il token, area per area',
  noLive:
    'Gli aggiornamenti in tempo reale (e gli schermi a parete) richiedono un token completo o di sola lettura: un token per aree scelte legge e scrive solo tramite API.',
  families: {
    crm: 'CRM: aziende, contatti, trattative, note, ricerca',
    inbox: 'Posta in arrivo ed email',
    linked: 'Record collegati: progetti, fatture, lavorazioni',
    tasks: 'Attività',
    meetings: 'Riunioni',
    marketing: 'Newsletter e sequenze',
    webhooks: 'Webhook',
    workflows: 'Automazioni',
    settings: 'Impostazioni: team, token, account email, registro attività',
  },
  familyShort: {
    crm: 'CRM',
    inbox: 'Posta',
    linked: 'Record collegati',
    tasks: 'Attività',
    meetings: 'Riunioni',
    marketing: 'Newsletter e sequenze',
    webhooks: 'Webhook',
    workflows: 'Automazioni',
    settings: 'Impostazioni',
  },
  levels: { none: 'Nessun accesso', read: 'Lettura', write: 'Lettura e scrittura' },
  kinds: 'Tipi di record collegato',
  kindsHint: 'Separati da virgole, es. project, invoice. Vuoto: tutti i tipi.',
  badKinds: 'I tipi sono parole minuscole: lettere, cifre e _.',
  noGrants: 'Scegli almeno un’area.',
  expiresAt: 'Scade il (facoltativo)',
  rateLimit: 'Richieste al minuto',
  expires: 'Scadenza',
  neverExpires: 'Mai',
  expired: 'Scaduto',
  limitShort: (n: number) => `${n}/min`,
};
