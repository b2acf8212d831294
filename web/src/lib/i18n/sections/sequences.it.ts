import type { sequencesEn } from './sequences.en.ts';

/** Stringhe italiane delle sequenze di email a freddo: voci della cronologia, avvisi, pagine delle sequenze. */
export const sequencesIt: typeof sequencesEn = {
  enrolled: (actor, sequence) => `${actor} l'ha iscritto alla sequenza «${sequence}»`,
  stepSent: (sequence, position) => `Sequenza «${sequence}»: passo ${position} inviato`,
  stopped: (sequence) => `Sequenza «${sequence}» interrotta`,
  completed: (sequence) => `Sequenza «${sequence}» conclusa`,
  fromMailbox: (address) => `da ${address}`,
  reasons: {
    replied: 'ha risposto',
    bounced: "l'indirizzo è rimbalzato",
    unsubscribed: 'si è disiscritto',
    complained: "l'ha segnalata come spam",
    manual: 'interrotta a mano',
    deal_opened: 'è stata aperta una trattativa',
    suppressed: "l'indirizzo è escluso dagli invii",
    sequence_archived: 'la sequenza è stata archiviata',
    contact_removed: 'il contatto è stato eliminato',
  },
  notices: {
    reply: (contact, sequence) => `${contact} ha risposto alla tua sequenza «${sequence}»`,
    paused: (target, reason) => `Invii delle sequenze da ${target} sospesi: ${reason}`,
  },
};
