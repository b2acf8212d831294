import { z } from './zod.ts';
import { entityType, isoDate, page, recordType, RECORD_TYPES, uuid } from './common.ts';
import { activity } from './timeline.ts';
import { linkedRecord } from './linked-records.ts';

/**
 * The CRM's answers as they travel (JSON, dates as ISO strings) and its enums, said once: the server's entities,
 * request schemas and services import the enums from here, the web its types.
 */

export const COMPANY_TYPES = ['client', 'supplier', 'stakeholder'] as const;
export const COMPANY_STATUSES = ['active', 'inactive', 'prospect'] as const;
export const COMPANY_SIZES = ['small', 'medium', 'large', 'enterprise'] as const;
export const CONTACT_STATUSES = ['active', 'inactive'] as const;
/** The stage keys every workspace starts with (each workspace edits its own, see contracts/pipeline.ts). */
export const DEAL_STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] as const;
/** A stage key: lower-case letters, digits, `_` and `-`, validated against the workspace's stages by the server. */
export const STAGE_KEY_RE = /^[a-z0-9][a-z0-9_-]{0,39}$/;
export const NOTE_TYPES = ['general', 'call', 'meeting', 'email', 'production', 'accounting'] as const;
export const DOCUMENT_CATEGORIES = ['contract', 'invoice', 'presentation', 'other'] as const;
export const CUSTOM_FIELD_TYPES = [
  'text',
  'number',
  'date',
  'select',
  'multiselect',
  'boolean',
  'url',
  'email',
] as const;
/** The records a CSV import or export takes. */
export const IMPORT_TYPES = ['company', 'contact'] as const satisfies readonly (typeof RECORD_TYPES)[number][];
export const IMPORT_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
/** What unified search finds. */
export const SEARCH_HIT_TYPES = [...RECORD_TYPES, 'note', 'linked_record'] as const;
/** The orders the company list takes (`-` is descending). */
export const COMPANY_SORTS = ['name', '-name', 'createdAt', '-createdAt', 'updatedAt', '-updatedAt'] as const;
export const CONTACT_SORTS = ['name', '-name', 'createdAt', '-createdAt'] as const;
export const DEAL_SORTS = ['createdAt', '-createdAt', 'title', '-title'] as const;

export const companyType = z.enum(COMPANY_TYPES);
export const companyStatus = z.enum(COMPANY_STATUSES);
export const companySize = z.enum(COMPANY_SIZES);
export const contactStatus = z.enum(CONTACT_STATUSES);
export const dealStage = z.string().regex(STAGE_KEY_RE);
export const noteType = z.enum(NOTE_TYPES);
export const documentCategory = z.enum(DOCUMENT_CATEGORIES);
export const customFieldType = z.enum(CUSTOM_FIELD_TYPES);
export const importType = z.enum(IMPORT_TYPES);
export const importStatus = z.enum(IMPORT_STATUSES);
export const searchHitType = z.enum(SEARCH_HIT_TYPES);

export type CompanyType = z.infer<typeof companyType>;
export type CompanyStatus = z.infer<typeof companyStatus>;
export type CompanySize = z.infer<typeof companySize>;
export type ContactStatus = z.infer<typeof contactStatus>;
/** One of the workspace's stage keys. */
export type DealStage = string;
export type NoteType = z.infer<typeof noteType>;
export type DocumentCategory = z.infer<typeof documentCategory>;
export type CustomFieldType = z.infer<typeof customFieldType>;
export type ImportType = z.infer<typeof importType>;
export type ImportStatus = z.infer<typeof importStatus>;
export type CompanySort = (typeof COMPANY_SORTS)[number];

/** A calendar day, `YYYY-MM-DD`. */
const day = z.string();
/** A decimal amount as text (`"1250000.50"`): exact, unlike a JSON number. */
const amount = z.string();
/** A column the row has once read back; a freshly created row leaves out the nulls it was not given. */
const maybe = <T extends z.ZodType>(t: T) => t.nullable().optional();

/** Values of the workspace's custom fields, by field name (see {@link customFieldDef}). */
export const customValues = z.record(z.string(), z.unknown());
export type CustomValues = z.infer<typeof customValues>;

export const address = z.object({
  street: z.string().optional(),
  city: z.string().optional(),
  postalCode: z.string().optional(),
  province: z.string().optional(),
  country: z.string().optional(),
});
export type Address = z.infer<typeof address>;

const BARE_HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?::\d{1,5})?(?:[/?#]\S*)?$/i;
/** `acme.com`, `www.acme.com/x` -> `https://acme.com`, `https://www.acme.com/x`; anything else as typed. */
export function normalizeUrl(value: string): string {
  const text = value.trim();
  return BARE_HOST.test(text) ? `https://${text}` : text;
}

/** What every company, contact and deal has. `version` grows on every write (stale edits, event order). */
const recordBase = {
  id: uuid,
  tenantId: uuid,
  version: z.number().int(),
  createdAt: isoDate,
  updatedAt: isoDate,
  createdBy: uuid.nullable(),
  customFields: customValues,
};

export const company = z.object({
  ...recordBase,
  name: z.string(),
  type: companyType,
  status: companyStatus,
  vatNumber: maybe(z.string()),
  taxCode: maybe(z.string()),
  website: maybe(z.string()),
  industry: maybe(z.string()),
  size: maybe(companySize),
  annualRevenue: maybe(amount),
  logoUrl: maybe(z.string()),
  billingAddress: maybe(address),
  shippingAddress: maybe(address),
  tags: z.array(z.string()),
  assignedTo: maybe(uuid),
});
export type Company = z.infer<typeof company>;

export const contact = z.object({
  ...recordBase,
  companyId: maybe(uuid),
  firstName: z.string(),
  lastName: z.string(),
  email: maybe(z.string()),
  phone: maybe(z.string()),
  mobile: maybe(z.string()),
  role: maybe(z.string()),
  department: maybe(z.string()),
  isPrimary: z.boolean(),
  avatarUrl: maybe(z.string()),
  linkedinUrl: maybe(z.string()),
  birthday: maybe(day),
  notes: maybe(z.string()),
  tags: z.array(z.string()),
  status: contactStatus,
  /** Set when mail to `email` bounced permanently; cleared when the address changes. */
  emailBouncedAt: maybe(isoDate),
  /** The status and the receiving server's words. */
  emailBounceReason: maybe(z.string()),
  /** The contact's own IANA time zone (Europe/Rome): sequences send inside their hours there. */
  timeZone: maybe(z.string()),
});
export type Contact = z.infer<typeof contact>;

export const deal = z.object({
  ...recordBase,
  companyId: maybe(uuid),
  title: z.string(),
  value: maybe(amount),
  currency: z.string(),
  stage: dealStage,
  probability: maybe(z.number().int()),
  expectedCloseDate: maybe(day),
  actualCloseDate: maybe(day),
  source: maybe(z.string()),
  assignedTo: maybe(uuid),
});
export type Deal = z.infer<typeof deal>;

export const companyPage = page(company);
export const contactPage = page(contact);
export const dealPage = page(deal);
export type CompanyPage = z.infer<typeof companyPage>;
export type ContactPage = z.infer<typeof contactPage>;
export type DealPage = z.infer<typeof dealPage>;

/** Any of the three records, as the shared record routes answer. */
export type CrmRecord = Company | Contact | Deal;

/** Deals per stage, in stage order: how many, and their value per currency. */
export const pipeline = z.object({
  stages: z.array(z.object({ stage: dealStage, count: z.number().int(), totals: z.record(z.string(), amount) })),
});
export type Pipeline = z.infer<typeof pipeline>;

export const noteAttachment = z.object({ documentId: uuid, fileName: z.string() });
export type NoteAttachment = z.infer<typeof noteAttachment>;

/** A Markdown note on a record (or an inbox conversation). */
export const note = z.object({
  id: uuid,
  tenantId: uuid,
  entityType,
  entityId: uuid,
  content: z.string(),
  noteType,
  isPinned: z.boolean(),
  mentions: z.array(uuid),
  attachments: z.array(noteAttachment),
  createdBy: uuid.nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  /** Grows on every edit; an edit made on an older one answers 409 `version_conflict`. */
  version: z.number().int(),
});
export type Note = z.infer<typeof note>;
export const noteList = z.object({ items: z.array(note) });

/** A per-workspace field definition; values live in each record's `customFields` under `fieldName`. */
export const customFieldDef = z.object({
  id: uuid,
  tenantId: uuid,
  createdAt: isoDate,
  entityType: recordType,
  fieldName: z.string(),
  fieldLabel: z.string(),
  fieldType: customFieldType,
  fieldOptions: z.array(z.string()).nullable(),
  isRequired: z.boolean(),
  defaultValue: z.string().nullable(),
  displayOrder: z.number().int(),
});
export type CustomFieldDef = z.infer<typeof customFieldDef>;
export const customFieldList = z.object({ items: z.array(customFieldDef) });

/** Named list filters: the list route's query parameters, private to the author or shared with the team. */
export const savedView = z.object({
  id: uuid,
  tenantId: uuid,
  createdAt: isoDate,
  userId: uuid,
  entityType: recordType,
  name: z.string(),
  filters: z.record(z.string(), z.string()),
  isShared: z.boolean(),
});
export type SavedView = z.infer<typeof savedView>;
export const savedViewList = z.object({ items: z.array(savedView) });

/** A file on a record; its bytes are at `/api/crm/documents/:id/download` (where they are stored is never said). */
export const crmDocument = z.object({
  id: uuid,
  entityType: recordType,
  entityId: uuid,
  fileName: z.string(),
  fileType: z.string().nullable(),
  fileSize: z.number().int().nullable(),
  sha256: z.string(),
  category: documentCategory,
  uploadedBy: uuid.nullable(),
  uploadedAt: isoDate,
  /** The mailbox whose mail brought it (an attachment), when it came by mail. */
  mailboxId: maybe(uuid),
});
export type CrmDocument = z.infer<typeof crmDocument>;
export const documentList = z.object({ items: z.array(crmDocument) });

/** Why a field of a request or of an imported row was refused (worded in the user's language by whoever shows it). */
export const FIELD_REASONS = [
  'required',
  'too_long',
  'invalid_email',
  'invalid_url',
  'invalid_date',
  'invalid_number',
  'invalid_choice',
  'company_not_found',
  'invalid',
] as const;
export type FieldReason = (typeof FIELD_REASONS)[number];

/** One bad cell of an imported row: the import field it fed (`name`, `email`, `cf.employees`), why, and its text. */
export const importProblem = z.object({
  field: z.string(),
  reason: z.enum(FIELD_REASONS),
  value: z.string().optional(),
  limit: z.number().optional(),
});
export type ImportProblem = z.infer<typeof importProblem>;

/**
 * A row of a CSV import that was not created: its line in the file (header is line 1) and why, as a sentence (in the
 * language asked for) and as `problems`.
 */
export const importRowError = z.object({
  line: z.number().int(),
  message: z.string(),
  fields: z.record(z.string(), z.string()).optional(),
  problems: z.array(importProblem).optional(),
});
export type ImportRowError = z.infer<typeof importRowError>;

/** A CSV import's progress: `queued` → `running` → `completed` (with row errors) or `failed` (with `failure`). */
export const crmImport = z.object({
  id: uuid,
  createdAt: isoDate,
  entityType: importType,
  fileName: z.string(),
  status: importStatus,
  totalRows: z.number().int(),
  processedRows: z.number().int(),
  createdRows: z.number().int(),
  /** Duplicates (of a record already there, or of an earlier row) updated or left as they were. */
  updatedRows: z.number().int(),
  skippedRows: z.number().int(),
  onDuplicate: z.enum(['skip', 'update']),
  errors: z.array(importRowError),
  failure: z.string().nullable(),
  createdBy: uuid.nullable(),
  finishedAt: isoDate.nullable(),
});
export type CrmImport = z.infer<typeof crmImport>;

export const searchHit = z.object({
  type: searchHitType,
  id: uuid,
  title: z.string(),
  subtitle: z.string().nullable(),
  /** For contacts, deals and notes: the company they belong to (to link to its card). */
  companyId: uuid.nullable(),
  rank: z.number(),
  /** For deals: the amount, unformatted (the client formats it by locale). */
  amount: z.object({ value: z.string(), currency: z.string() }).nullable().optional(),
  /** For linked records: the company card tab that lists it (projects, invoices, production). */
  tab: z.string().optional(),
});
export type SearchHit = z.infer<typeof searchHit>;
export const searchResults = z.object({ items: z.array(searchHit) });
export type SearchResults = z.infer<typeof searchResults>;

/** GET /companies/:id/full-context: everything other modules (PM, accounting, production) read about a customer. */
export const fullContext = z.object({
  company,
  contacts: z.array(contact),
  deals: z.array(deal),
  recentNotes: z.array(note),
  recentActivities: z.array(activity),
  documents: z.array(crmDocument),
  /**
   * Open (active or pending) linked records of other modules, per company card tab: projects, invoices, production
   * jobs (workspace kinds included by their tab). A list is absent when the token may read no kind of it.
   */
  activeProjects: z.array(linkedRecord).optional(),
  pendingInvoices: z.array(linkedRecord).optional(),
  productionJobs: z.array(linkedRecord).optional(),
});
export type FullContext = z.infer<typeof fullContext>;
