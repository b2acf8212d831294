import type { msgbulkEn } from './msgbulk.en.ts';

/** Stringhe italiane degli invii massivi di messaggi e del contatore di segmenti SMS (issue 19). */
export const msgbulkIt: typeof msgbulkEn = {
  title: 'Invii massivi',
  intro:
    'Invia un testo o un modello su un canale ai contatti di liste o segmenti. I numeri che si sono disiscritti sono esclusi.',
  newBulk: 'Nuovo invio massivo',
  name: 'Nome',
  account: 'Account',
  channel: 'Canale',
  channels: { sms: 'SMS', whatsapp: 'WhatsApp', telegram: 'Telegram' },
  audience: 'Liste e segmenti',
  text: 'Messaggio',
  template: 'Modello',
  noTemplate: 'Nessun modello: testo libero',
  rate: 'Ritmo (messaggi al minuto)',
  rateHint: (perSecond) => `${perSecond} al secondo. I numeri standard dei provider reggono circa uno al secondo.`,
  create: 'Salva bozza',
  start: 'Avvia invio',
  cancel: 'Annulla invio',
  noAccounts: 'Collega prima un account SMS, WhatsApp o Telegram in Impostazioni > Messaggi.',
  empty: 'Nessun invio massivo.',
  states: { draft: 'Bozza', sending: 'In invio', done: 'Completato', cancelled: 'Annullato' },
  report: {
    recipients: 'Destinatari',
    pending: 'In attesa',
    suppressed: 'Disiscritti',
    sent: 'Inviati',
    delivered: 'Consegnati',
    read: 'Letti',
    failed: 'Non riusciti',
  },
  progress: (done, total) => `${done} di ${total}`,
  unreachable: (n) =>
    n === 1
      ? '1 contatto non ha un recapito su questo canale.'
      : `${n} contatti non hanno un recapito su questo canale.`,
  errors: 'Errori del provider',
  segments: {
    count: (chars, segments, encoding) =>
      `${chars} caratteri · ${segments} ${segments === 1 ? 'segmento' : 'segmenti'} · ${encoding}`,
    unicode: (chars) => `Inviato come UCS-2 (70 per messaggio) a causa di: ${chars}`,
  },
};
