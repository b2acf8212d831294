import type { FieldReason, ImportProblem, ImportType } from '#contracts/crm';
import { IMPORT_TARGETS, type ImportLang } from '#contracts/crm-imports';

/** The import's vocabulary in both languages: field labels, the headers each field is guessed from, row messages. */

type Target = (typeof IMPORT_TARGETS)[ImportType][number];

const LABELS: Record<ImportLang, Record<Target, string>> = {
  en: {
    name: 'Name',
    domain: 'Domain',
    website: 'Website',
    type: 'Type',
    status: 'Status',
    vatNumber: 'VAT number',
    taxCode: 'Tax code',
    industry: 'Industry',
    size: 'Size',
    annualRevenue: 'Annual revenue',
    tags: 'Tags',
    billingStreet: 'Billing street',
    billingCity: 'Billing city',
    billingPostalCode: 'Billing postal code',
    billingProvince: 'Billing province',
    billingCountry: 'Billing country',
    shippingStreet: 'Shipping street',
    shippingCity: 'Shipping city',
    shippingPostalCode: 'Shipping postal code',
    shippingProvince: 'Shipping province',
    shippingCountry: 'Shipping country',
    fullName: 'Full name',
    firstName: 'First name',
    lastName: 'Last name',
    email: 'Email',
    phone: 'Phone',
    mobile: 'Mobile',
    company: 'Company',
    role: 'Role',
    department: 'Department',
    isPrimary: 'Primary contact',
    birthday: 'Birthday',
    linkedinUrl: 'LinkedIn',
    notes: 'Notes',
  },
  it: {
    name: 'Nome',
    domain: 'Dominio',
    website: 'Sito web',
    type: 'Tipo',
    status: 'Stato',
    vatNumber: 'Partita IVA',
    taxCode: 'Codice fiscale',
    industry: 'Settore',
    size: 'Dimensione',
    annualRevenue: 'Fatturato annuo',
    tags: 'Etichette',
    billingStreet: 'Indirizzo di fatturazione',
    billingCity: 'Città di fatturazione',
    billingPostalCode: 'CAP di fatturazione',
    billingProvince: 'Provincia di fatturazione',
    billingCountry: 'Paese di fatturazione',
    shippingStreet: 'Indirizzo di spedizione',
    shippingCity: 'Città di spedizione',
    shippingPostalCode: 'CAP di spedizione',
    shippingProvince: 'Provincia di spedizione',
    shippingCountry: 'Paese di spedizione',
    fullName: 'Nome e cognome',
    firstName: 'Nome',
    lastName: 'Cognome',
    email: 'Email',
    phone: 'Telefono',
    mobile: 'Cellulare',
    company: 'Azienda',
    role: 'Ruolo',
    department: 'Reparto',
    isPrimary: 'Referente principale',
    birthday: 'Compleanno',
    linkedinUrl: 'LinkedIn',
    notes: 'Note',
  },
};

/** Ordinary headers, Italian and English, written as {@link headerKey} gives them. */
const SYNONYMS: Record<ImportType, Partial<Record<Target, string[]>>> = {
  company: {
    name: [
      'name',
      'company',
      'company name',
      'business name',
      'account name',
      'organization',
      'organisation',
      'ragione sociale',
      'azienda',
      'nome azienda',
      'denominazione',
      'societa',
      'nome',
      'cliente',
    ],
    domain: ['domain', 'dominio', 'email domain'],
    website: ['website', 'web site', 'web', 'url', 'homepage', 'home page', 'sito', 'sito web', 'sito internet'],
    type: ['type', 'tipo', 'tipologia', 'company type'],
    status: ['status', 'stato'],
    vatNumber: ['vat', 'vat number', 'vat no', 'vat id', 'p iva', 'piva', 'partita iva', 'p i'],
    taxCode: ['tax code', 'fiscal code', 'codice fiscale', 'cf', 'c f'],
    industry: ['industry', 'sector', 'settore', 'industria', 'comparto'],
    size: ['size', 'dimensione', 'company size'],
    annualRevenue: ['annual revenue', 'revenue', 'turnover', 'fatturato', 'fatturato annuo'],
    tags: ['tags', 'tag', 'labels', 'etichette'],
    billingStreet: ['address', 'street', 'street address', 'indirizzo', 'via', 'sede', 'indirizzo sede'],
    billingCity: ['city', 'town', 'citta', 'comune', 'localita'],
    billingPostalCode: ['postal code', 'postcode', 'zip', 'zip code', 'cap', 'codice postale'],
    billingProvince: ['province', 'state', 'county', 'provincia', 'prov', 'regione', 'region'],
    billingCountry: ['country', 'nation', 'nazione', 'paese'],
  },
  contact: {
    fullName: ['name', 'full name', 'contact', 'contact name', 'nome completo', 'nome e cognome', 'nominativo'],
    firstName: ['first name', 'firstname', 'given name', 'nome'],
    lastName: ['last name', 'lastname', 'surname', 'family name', 'cognome'],
    email: ['email', 'e mail', 'mail', 'email address', 'indirizzo email', 'posta elettronica'],
    phone: ['phone', 'telephone', 'tel', 'phone number', 'work phone', 'business phone', 'telefono'],
    mobile: ['mobile', 'mobile phone', 'cell', 'cellphone', 'cellulare', 'cell phone'],
    company: ['company', 'company name', 'organization', 'organisation', 'account', 'azienda', 'ragione sociale'],
    role: ['role', 'title', 'job title', 'position', 'ruolo', 'qualifica', 'posizione', 'carica', 'mansione'],
    department: ['department', 'dept', 'reparto', 'dipartimento', 'ufficio', 'area'],
    isPrimary: ['primary', 'is primary', 'primary contact', 'principale', 'referente principale'],
    birthday: ['birthday', 'birth date', 'date of birth', 'data di nascita', 'compleanno'],
    linkedinUrl: ['linkedin', 'linkedin url', 'linkedin profile', 'profilo linkedin'],
    tags: ['tags', 'tag', 'labels', 'etichette'],
    status: ['status', 'stato'],
    notes: ['notes', 'note', 'comments', 'commenti'],
  },
};

/** `E-mail`, `Città`, ` P. IVA ` -> `e mail`, `citta`, `p iva`: the form a header is compared in. */
export function headerKey(header: string): string {
  return header
    .replace(/^\uFEFF/, '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

export interface CustomFieldRef {
  fieldName: string;
  fieldLabel: string;
}

/** The fields a column of this record type can feed, labelled in `lang`. */
export function importFields(type: ImportType, lang: ImportLang, custom: CustomFieldRef[]) {
  return [
    ...IMPORT_TARGETS[type].map((key) => ({ key, label: LABELS[lang][key] })),
    ...custom.map((d) => ({ key: `cf.${d.fieldName}`, label: d.fieldLabel })),
  ];
}

/** The label of an import field (a custom field's own label, else its key). */
export function fieldLabel(key: string, lang: ImportLang, custom: CustomFieldRef[] = []): string {
  if (key.startsWith('cf.')) return custom.find((d) => `cf.${d.fieldName}` === key)?.fieldLabel ?? key.slice(3);
  return LABELS[lang][key as Target] ?? key;
}

/**
 * The proposed target of each header: a field's own name (`vat_number`, `billingCity`), an ordinary header
 * ("Ragione sociale", "E-mail"), or a custom field's name or label; each field at most once, the first column wins.
 */
export function guessMapping(type: ImportType, header: string[], custom: CustomFieldRef[]): (string | null)[] {
  const byKey = new Map<string, string>();
  for (const d of custom) {
    byKey.set(headerKey(`cf ${d.fieldName}`), `cf.${d.fieldName}`);
    byKey.set(headerKey(d.fieldName), `cf.${d.fieldName}`);
    byKey.set(headerKey(d.fieldLabel), `cf.${d.fieldName}`);
  }
  for (const [target, words] of Object.entries(SYNONYMS[type])) for (const w of words) byKey.set(w, target);
  for (const target of IMPORT_TARGETS[type]) byKey.set(headerKey(target), target);
  const used = new Set<string>();
  return header.map((h) => {
    const named = h.trim().match(/^cf[._]([a-z][a-z0-9_]*)$/i);
    if (named) return `cf.${named[1]!.toLowerCase()}`;
    const key = headerKey(h);
    const target = byKey.get(key) ?? byKey.get(key.replace(/ /g, '')) ?? null;
    if (!target || used.has(target)) return null;
    used.add(target);
    return target;
  });
}

const QUOTE = (v: string) => `“${v.length > 60 ? `${v.slice(0, 57)}…` : v}”`;

const PHRASES: Record<ImportLang, Record<FieldReason, (label: string, p: ImportProblem) => string>> = {
  en: {
    required: (label) => `${label} is required`,
    too_long: (label, p) => `${label} is too long (at most ${p.limit} characters)`,
    invalid_email: (_l, p) => `the email ${QUOTE(p.value ?? '')} is not a valid address`,
    invalid_url: (label, p) => `${label} ${QUOTE(p.value ?? '')} is not a web address (such as acme.com)`,
    invalid_date: (label, p) => `${label} ${QUOTE(p.value ?? '')} is not a date (YYYY-MM-DD)`,
    invalid_number: (label, p) => `${label} ${QUOTE(p.value ?? '')} is not a number`,
    invalid_choice: (label, p) => `${label} ${QUOTE(p.value ?? '')} is not one of the allowed values`,
    company_not_found: (_l, p) => `no company named ${QUOTE(p.value ?? '')}`,
    invalid: (label, p) => `${label} ${QUOTE(p.value ?? '')} is not valid`,
  },
  it: {
    required: (label) => `${label} è obbligatorio`,
    too_long: (label, p) => `${label} è troppo lungo (al massimo ${p.limit} caratteri)`,
    invalid_email: (_l, p) => `l’email ${QUOTE(p.value ?? '')} non è un indirizzo valido`,
    invalid_url: (label, p) => `${label} ${QUOTE(p.value ?? '')} non è un indirizzo web (come acme.com)`,
    invalid_date: (label, p) => `${label} ${QUOTE(p.value ?? '')} non è una data (AAAA-MM-GG)`,
    invalid_number: (label, p) => `${label} ${QUOTE(p.value ?? '')} non è un numero`,
    invalid_choice: (label, p) => `${label} ${QUOTE(p.value ?? '')} non è tra i valori ammessi`,
    company_not_found: (_l, p) => `nessuna azienda si chiama ${QUOTE(p.value ?? '')}`,
    invalid: (label, p) => `${label} ${QUOTE(p.value ?? '')} non è valido`,
  },
};

/** "Row 7: the email “mario@” is not a valid address; Name is required". */
export function rowMessage(line: number, problems: ImportProblem[], lang: ImportLang, custom: CustomFieldRef[]) {
  const parts = problems.map((p) => PHRASES[lang][p.reason](fieldLabel(p.field, lang, custom), p));
  return `${lang === 'it' ? 'Riga' : 'Row'} ${line}: ${parts.join('; ')}`;
}
