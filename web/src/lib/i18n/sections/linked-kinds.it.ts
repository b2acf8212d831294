import type { linkedKindsEn } from './linked-kinds.en.ts';

/** Stringhe italiane di Impostazioni > Record collegati: i tipi di record collegato propri dello spazio di lavoro. */
export const linkedKindsIt: typeof linkedKindsEn = {
  nav: 'Record collegati',
  heading: 'Tipi di record collegato',
  intro:
    'Gli altri moduli portano progetti, fatture e commesse di produzione sulla scheda azienda. Aggiungi i tuoi tipi e scegli la scheda che li elenca.',
  add: 'Aggiungi tipo',
  newTitle: 'Nuovo tipo',
  editTitle: 'Modifica tipo',
  key: 'Chiave',
  keyHint: 'Lettere minuscole, cifre e _, come la inviano i moduli',
  keyExists: 'Esiste già un tipo con questa chiave',
  label: 'Etichetta',
  tab: 'Scheda',
  type: 'Tipo',
  builtin: 'Predefinito',
  custom: 'Personalizzato',
  empty: 'Nessun tipo.',
  deleteConfirm: (label: string) =>
    `Eliminare il tipo “${label}”? Si può eliminare solo un tipo che nessun record usa.`,
  adminOnly: 'Solo i proprietari e gli amministratori dello spazio di lavoro possono modificare i tipi.',
};
