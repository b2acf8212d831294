import type { linkedEn } from './linked.en.ts';

/** Stringhe italiane dei record collegati: schede Progetti / Fatture / Produzione dell'azienda, cronologia, parete. */
export const linkedIt: typeof linkedEn = {
  tabs: { projects: 'Progetti', invoices: 'Fatture', production: 'Produzione' },
  empty: {
    projects: 'Ancora nessun progetto dagli altri moduli.',
    invoices: 'Ancora nessuna fattura dalla contabilità.',
    production: 'Ancora nessuna commessa di produzione.',
  },
  hint: 'Gli altri moduli li inviano tramite API (PUT /api/linked-records/…): compaiono qui in diretta.',
  columns: { title: 'Titolo', status: 'Stato', amount: 'Importo', due: 'Scadenza', source: 'Origine', open: 'Apri' },
  openIn: (source: string) => `Apri in ${source}`,
  states: { active: 'In corso', pending: 'In attesa', done: 'Concluso', cancelled: 'Annullato' },
  kinds: { project: 'Progetto', invoice: 'Fattura', production_job: 'Commessa di produzione' },
  timeline: {
    created: (kind: string, title: string) => `${kind} «${title}» aggiunto`,
    updated: (kind: string, title: string) => `${kind} «${title}» modificato`,
    statusChanged: (kind: string, title: string) => `${kind} «${title}»: stato cambiato`,
    deleted: (kind: string, title: string) => `${kind} «${title}» rimosso`,
    event: (kind: string, title: string) => `${kind} «${title}»`,
    fromTo: (from: string, to: string) => `${from} → ${to}`,
    changed: (fields: string) => `Modificati: ${fields}`,
    due: (d: string) => `scadenza ${d}`,
    fields: {
      title: 'titolo',
      amount: 'importo',
      currency: 'valuta',
      startDate: 'inizio',
      dueDate: 'scadenza',
      endDate: 'fine',
      issuedDate: 'data di emissione',
      url: 'collegamento',
      fields: 'dettagli',
      companyId: 'azienda',
      contactId: 'contatto',
      dealId: 'trattativa',
    },
  },
  wall: { title: 'In produzione e in corso', empty: 'Niente in produzione.' },
  searchType: 'Progetto, fattura, commessa',
};
