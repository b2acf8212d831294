import type { polishEn } from './polish.en.ts';

/** Stringhe italiane della ricerca vuota, degli avvisi e dello stato vuoto della posta, e del menu sul telefono. */
export const polishIt: typeof polishEn = {
  search: {
    recent: 'Recenti',
    actions: 'Azioni rapide',
    quick: {
      compose: 'Scrivi un’email',
      inbox: 'Apri la posta',
      companies: 'Vai alle aziende',
      contacts: 'Vai ai contatti',
      deals: 'Apri la bacheca delle trattative',
      meetings: 'Vai alle riunioni',
      importCompanies: 'Importa aziende da CSV',
    },
  },
  shell: {
    menu: 'Menu',
    closeMenu: 'Chiudi il menu',
    search: 'Cerca',
  },
  inbox: {
    newConversation: (mailbox) => `Nuova conversazione in ${mailbox}`,
    emptyTitle: 'Ancora nessuna conversazione',
    emptyWriteTo: 'La posta inviata a questo indirizzo arriva qui:',
    emptyWriteToMany: 'La posta inviata a questi indirizzi arriva qui:',
    messages: 'Messaggi',
  },
};
