import type { newslettersEn } from './newsletters.en.ts';

/** Stringhe italiane di newsletter (liste, campagne, report), consensi e pagine pubbliche di iscrizione. */
export const newslettersIt: typeof newslettersEn = {
  nav: 'Newsletter',
  timeline: {
    campaignSent: (campaign) => `Newsletter “${campaign}” inviata`,
    campaignOpened: (campaign) => `✓ Ha aperto la newsletter “${campaign}”`,
    campaignClicked: (campaign) => `✓ Ha cliccato un link della newsletter “${campaign}”`,
    complained: (to) => `${to} ha segnalato la nostra email come spam`,
    consentGiven: (what) => `Iscrizione a ${what}`,
    consentWithdrawn: (what) => `Disiscrizione da ${what}`,
    allMail: 'tutti gli invii',
    variant: (v) => `Variante ${v}`,
    sources: {
      form: 'modulo di iscrizione',
      import: 'importazione',
      api: 'API',
      crm: 'aggiunto dal CRM',
      manual: 'modificato a mano',
      one_click: 'disiscrizione con un clic',
      preference_center: 'centro preferenze',
      complaint: 'segnalazione di spam',
      bounce: 'mancato recapito',
      stop: 'risposta STOP',
      erasure: 'cancellato',
    },
  },
};
