import { z } from './zod.ts';
import { isoDate, page, uuid } from './common.ts';

/**
 * Linked records: objects of other modules (project management, accounting, production) kept against a CRM record,
 * upserted by those modules through the API by (source, kind, external id) and shown on the company card.
 */

/** The kinds every workspace has; a workspace adds its own (`linked_record_kinds`), each shown on one card tab. */
export const BUILTIN_LINKED_KINDS = ['project', 'invoice', 'production_job'] as const;
/** The company card's tabs that list linked records. */
export const LINKED_TABS = ['projects', 'invoices', 'production'] as const;
export const linkedTab = z.enum(LINKED_TABS);
export type LinkedTab = z.infer<typeof linkedTab>;
export const BUILTIN_KIND_TAB: Record<(typeof BUILTIN_LINKED_KINDS)[number], LinkedTab> = {
  project: 'projects',
  invoice: 'invoices',
  production_job: 'production',
};

/**
 * The normalised state beside the source's free-text status: `active` (in progress), `pending` (not started, or an
 * invoice issued and unpaid), `done` (finished, paid), `cancelled`. Full-context's lists are the open ones.
 */
export const LINKED_STATES = ['active', 'pending', 'done', 'cancelled'] as const;
export const linkedState = z.enum(LINKED_STATES);
export type LinkedState = z.infer<typeof linkedState>;
export const OPEN_LINKED_STATES: readonly LinkedState[] = ['active', 'pending'];

export const linkedKindKey = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'lowercase letters, digits and _');
export const linkedSource = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ -');
export const linkedExternalId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}]+$/u, 'no control characters');

const day = z.iso.date();
/** A link back to the record in its own application: http(s) only (never `javascript:` on the card). */
const httpUrl = z
  .url({ protocol: /^https?$/, hostname: z.regexes.hostname })
  .max(2000)
  .refine((u) => /^https?:\/\//i.test(u), 'http or https only');
const MAX_FIELDS_BYTES = 8 * 1024;
/** Free fields of the source (shown as they are), bounded: 50 keys, 8 KB as JSON. */
const freeFields = z
  .record(z.string().max(100), z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]))
  .refine((f) => Object.keys(f).length <= 50, 'at most 50 fields')
  .refine((f) => JSON.stringify(f).length <= MAX_FIELDS_BYTES, 'at most 8 KB');

export const linkedRecord = z.object({
  id: uuid,
  kind: z.string(),
  source: z.string(),
  externalId: z.string(),
  title: z.string(),
  /** The source's own words for its status ("In lavorazione", "Overdue"). */
  status: z.string().nullable(),
  state: linkedState,
  /** A decimal string ("1250.00"), with its ISO 4217 currency. */
  amount: z.string().nullable(),
  currency: z.string().nullable(),
  startDate: z.string().nullable(),
  dueDate: z.string().nullable(),
  endDate: z.string().nullable(),
  issuedDate: z.string().nullable(),
  url: z.string().nullable(),
  fields: z.record(z.string(), z.unknown()),
  companyId: uuid.nullable(),
  contactId: uuid.nullable(),
  dealId: uuid.nullable(),
  /** The card tab that shows it (its kind's). */
  tab: linkedTab,
  /** The source's own last change: an upsert older than this is ignored (last write wins by the source's clock). */
  sourceUpdatedAt: isoDate,
  createdAt: isoDate,
  updatedAt: isoDate,
});
export type LinkedRecord = z.infer<typeof linkedRecord>;

/** PUT /api/linked-records/:source/:kind/:externalId: the whole record as the source has it now. */
export const linkedRecordUpsert = z
  .object({
    title: z.string().trim().min(1).max(500),
    status: z.string().trim().max(100).nullable().optional(),
    state: linkedState.default('active'),
    amount: z
      .union([z.number(), z.string().regex(/^-?\d{1,13}(\.\d{1,2})?$/, 'a decimal with at most 2 decimals')])
      .refine((v) => typeof v === 'string' || (Number.isFinite(v) && Math.abs(v) < 1e13), 'too large')
      .nullable()
      .optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'an ISO 4217 code')
      .nullable()
      .optional(),
    startDate: day.nullable().optional(),
    dueDate: day.nullable().optional(),
    endDate: day.nullable().optional(),
    issuedDate: day.nullable().optional(),
    url: httpUrl.nullable().optional(),
    fields: freeFields.optional(),
    companyId: uuid.nullable().optional(),
    contactId: uuid.nullable().optional(),
    dealId: uuid.nullable().optional(),
    /** When the source last changed it (ISO 8601 with an offset); absent: now (the latest arrival wins). */
    updatedAt: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((b) => b.companyId || b.contactId || b.dealId, {
    message: 'a company, contact or deal to link it to',
    path: ['companyId'],
  })
  .refine((b) => b.amount == null || !!b.currency, { message: 'a currency for the amount', path: ['currency'] });
export type LinkedRecordUpsert = z.infer<typeof linkedRecordUpsert>;

/** What an upsert did: `stale` means the stored record is newer by the source's clock and was kept. */
export const LINKED_OUTCOMES = ['created', 'updated', 'unchanged', 'stale'] as const;
export const linkedUpsertResult = z.object({ outcome: z.enum(LINKED_OUTCOMES), record: linkedRecord });
export type LinkedUpsertResult = z.infer<typeof linkedUpsertResult>;

export const linkedRecordQuery = z.object({
  companyId: uuid.optional(),
  contactId: uuid.optional(),
  dealId: uuid.optional(),
  kind: linkedKindKey.optional(),
  tab: linkedTab.optional(),
  state: linkedState.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});
export type LinkedRecordQuery = z.infer<typeof linkedRecordQuery>;
export const linkedRecordPage = page(linkedRecord);

/** POST /api/linked-records/:id/events: a milestone of the record (a production phase done, an invoice paid). */
export const linkedRecordEvent = z.object({
  title: z.string().trim().min(1).max(255),
  description: z.string().trim().max(5000).nullable().optional(),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
});
export type LinkedRecordEvent = z.infer<typeof linkedRecordEvent>;

/** A kind of linked record: a built-in one or one the workspace defined, with the card tab that lists it. */
export const linkedKind = z.object({
  id: uuid.nullable(),
  key: z.string(),
  label: z.string(),
  tab: linkedTab,
  builtin: z.boolean(),
});
export type LinkedKind = z.infer<typeof linkedKind>;
export const linkedKindList = z.object({ items: z.array(linkedKind) });
export const linkedKindCreate = z.object({
  key: linkedKindKey.refine((k) => !(BUILTIN_LINKED_KINDS as readonly string[]).includes(k), 'a built-in kind'),
  label: z.string().trim().min(1).max(100),
  tab: linkedTab,
});
export const linkedKindPatch = z.object({
  label: z.string().trim().min(1).max(100).optional(),
  tab: linkedTab.optional(),
});
