import type { importingEn } from './importing.en.ts';

/** Stringhe italiane del passo di abbinamento delle colonne dell'importazione CSV e dei messaggi sotto i campi. */
export const importingIt: typeof importingEn = {
  next: 'Avanti: abbina le colonne',
  reading: 'Lettura del file…',
  fileHint:
    'Qualsiasi CSV con una riga di intestazione: Filo propone un campo per ogni colonna e tu lo controlli prima di importare.',
  mapTitle: 'Abbina le colonne',
  mapIntro: 'Ogni colonna del file va nel campo scelto qui. Le colonne impostate su “Ignora” non vengono importate.',
  column: 'Colonna nel file',
  sample: 'Esempio',
  field: 'Va in',
  ignore: 'Ignora questa colonna',
  needName: 'Scegli la colonna che contiene il nome.',
  previewTitle: 'Anteprima: le prime righe come verranno importate',
  more: 'e il resto del file',
  duplicates: 'Duplicati',
  duplicatesHint: {
    company:
      'Un’azienda con lo stesso nome (Acme S.p.A. = ACME spa) o lo stesso dominio, già in Filo o prima nel file.',
    contact: 'Un contatto con la stessa email, già in Filo o prima nel file.',
  },
  skip: 'Saltali (tieni quello che c’è in Filo)',
  update: 'Aggiorna il record esistente',
  run: (n, more) => `Importa ${more ? 'le righe' : n === 1 ? '1 riga' : `${n} righe`}`,
  back: 'Scegli un altro file',
  updated: 'Aggiornati',
  skipped: 'Duplicati saltati',
  failed: 'Non importati',
  download: 'Scarica le righe non importate (CSV)',
  completed: (created, updated, skipped, failed) =>
    `Fatto: ${created} creati, ${updated} aggiornati, ${skipped} saltati, ${failed} non importati.`,
  fileErrors: {
    too_many_columns: 'Il file ha troppe colonne (al massimo 500).',
    invalid_csv: 'Il file non si legge come CSV: salvalo dal foglio di calcolo come “CSV (delimitato da virgole)”.',
    empty_csv: 'Il file non ha una riga di intestazione.',
    payload_too_large: 'Il file è troppo grande (al massimo 20 MB).',
    request_timeout: 'Il file ha impiegato troppo ad arrivare: riprova.',
  },
  fieldErrors: {
    summary: 'Alcuni campi vanno corretti: leggi il messaggio sotto ciascuno.',
    required: 'Campo obbligatorio.',
    too_long: (limit) => `Troppo lungo: al massimo ${limit} caratteri.`,
    invalid_email: 'Inserisci un indirizzo email come nome@esempio.it.',
    invalid_url: 'Inserisci un indirizzo web come acme.com o https://acme.com.',
    invalid_date: 'Inserisci una data valida.',
    invalid_number: 'Inserisci un numero come 1250,50.',
    invalid_choice: 'Scegli una delle opzioni.',
    company_not_found: 'Nessuna azienda ha questo nome.',
    invalid: 'Valore non valido.',
  },
};
