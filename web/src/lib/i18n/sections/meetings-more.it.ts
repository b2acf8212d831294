import type { meetingsMoreEn } from './meetings-more.en.ts';

/** Stringhe italiane dell'anteprima e degli errori della pagina di chiamata, degli inviti live e dell'outbox di sviluppo. */
export const meetingsMoreIt: typeof meetingsMoreEn = {
  call: {
    retry: 'Riprova',
    back: 'Indietro',
    previewHeading: 'Controlla videocamera e microfono',
    previewLabel: 'La tua videocamera',
    previewStarting: 'Avvio della videocamera…',
    previewNone: 'Nessuna videocamera o microfono trovati, o accesso negato: puoi partecipare comunque.',
    micLevel: 'Livello del microfono',
  },
  meetings: {
    scheduleButton: 'Pianifica una riunione',
    emptyHint: 'Pianifica una videochiamata e invita colleghi e contatti: ricevono subito l’invito.',
    invitedToast: (who) => `${who} ti ha invitato a una videochiamata`,
    invitedYou: (who, title) => `${who} ti ha invitato alla videochiamata “${title}”`,
    invitedAt: (who, title, when) => `${who} ti ha invitato alla videochiamata “${title}” · ${when}`,
  },
  outbox: {
    views: 'Mostra il messaggio come',
    text: 'Testo',
    html: 'HTML',
    raw: 'Sorgente',
    rawLoading: 'Caricamento del messaggio originale…',
    updated: (n) => (n === 1 ? '1 messaggio conservato' : `${n} messaggi conservati`),
  },
};
