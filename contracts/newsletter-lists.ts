import { z } from './zod.ts';
import { isoDate, page, uuid } from './common.ts';
import { consentSource, consentStatus } from './consent.ts';
import { COMPANY_STATUSES, COMPANY_TYPES, CONTACT_STATUSES, importRowError, STAGE_KEY_RE } from './crm.ts';
import { listKind } from './newsletters.ts';

/**
 * Newsletter lists and live segments: the segment vocabulary (the same filters as the CRM's saved views, plus custom
 * fields, deal stage and activity), and the shapes of `/api/newsletters/lists`.
 */

// ---- Segments

/** Operators of a segment condition; which apply depends on the field (and on a custom field's type). */
export const SEGMENT_OPS = [
  'is',
  'is_not',
  'has',
  'has_not',
  'equals',
  'contains',
  'empty',
  'not_empty',
  'greater',
  'less',
  'within_days',
  'not_within_days',
] as const;
export type SegmentOp = (typeof SEGMENT_OPS)[number];

/** What a condition's value is: one of some options, free text, a user id, a number of days, a stage key, or none. */
export type SegmentValueKind = 'option' | 'text' | 'user' | 'days' | 'stage' | 'none';

export interface SegmentFieldSpec {
  ops: readonly SegmentOp[];
  value: SegmentValueKind;
  options?: readonly string[];
}

/** The fixed fields of a condition; custom fields are `company.cf.<name>` / `contact.cf.<name>`. */
export const SEGMENT_FIELDS = {
  'company.type': { ops: ['is', 'is_not'], value: 'option', options: COMPANY_TYPES },
  'company.status': { ops: ['is', 'is_not'], value: 'option', options: COMPANY_STATUSES },
  'company.tag': { ops: ['has', 'has_not'], value: 'text' },
  'company.owner': { ops: ['is', 'is_not', 'empty', 'not_empty'], value: 'user' },
  'contact.tag': { ops: ['has', 'has_not'], value: 'text' },
  'contact.status': { ops: ['is', 'is_not'], value: 'option', options: CONTACT_STATUSES },
  /** The contact's company has a deal in this stage (a key of the workspace's pipeline). */
  'deal.stage': { ops: ['has', 'has_not'], value: 'stage' },
  /** Opened a campaign (a bulk send of theirs has `opened_at`) in the last N days. */
  'activity.opened': { ops: ['within_days', 'not_within_days'], value: 'days' },
  'activity.clicked': { ops: ['within_days', 'not_within_days'], value: 'days' },
  /** An email from them reached the inbox in the last N days. */
  'activity.email_received': { ops: ['within_days', 'not_within_days'], value: 'days' },
  /** The team emailed them in the last N days. */
  'activity.email_sent': { ops: ['within_days', 'not_within_days'], value: 'days' },
} as const satisfies Record<string, SegmentFieldSpec>;
export type SegmentFixedField = keyof typeof SEGMENT_FIELDS;

/** A custom field condition's field: `<company|contact>.cf.<field name>`. */
export const CUSTOM_FIELD_RE = /^(company|contact)\.cf\.([a-z][a-z0-9_]{0,99})$/;

/** Operators per custom field type (checked against the field's definition when the segment is compiled). */
export const CUSTOM_FIELD_OPS: Record<string, readonly SegmentOp[]> = {
  text: ['equals', 'contains', 'empty', 'not_empty'],
  url: ['equals', 'contains', 'empty', 'not_empty'],
  email: ['equals', 'contains', 'empty', 'not_empty'],
  select: ['equals', 'empty', 'not_empty'],
  multiselect: ['contains', 'empty', 'not_empty'],
  number: ['equals', 'greater', 'less', 'empty', 'not_empty'],
  date: ['equals', 'greater', 'less', 'empty', 'not_empty'],
  boolean: ['equals', 'empty', 'not_empty'],
};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const segmentCondition = z
  .object({
    field: z.string().max(120),
    op: z.enum(SEGMENT_OPS),
    value: z.union([z.string().max(500), z.number().finite(), z.boolean()]).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (CUSTOM_FIELD_RE.test(c.field)) return; // its type, and so its ops and value, are known to the server
    const spec = (SEGMENT_FIELDS as Record<string, SegmentFieldSpec>)[c.field];
    if (!spec) {
      ctx.addIssue({ code: 'custom', path: ['field'], message: `unknown field "${c.field}"` });
      return;
    }
    if (!spec.ops.includes(c.op)) {
      ctx.addIssue({ code: 'custom', path: ['op'], message: `${c.field} takes ${spec.ops.join(', ')}` });
      return;
    }
    if (c.op === 'empty' || c.op === 'not_empty' || spec.value === 'none') return;
    const v = c.value;
    const bad = (message: string) => ctx.addIssue({ code: 'custom', path: ['value'], message });
    if (spec.value === 'option' && !(typeof v === 'string' && spec.options!.includes(v)))
      bad(`must be one of ${spec.options!.join(', ')}`);
    else if (spec.value === 'text' && !(typeof v === 'string' && v.trim().length > 0 && v.length <= 50))
      bad('must be text of 1 to 50 characters');
    else if (spec.value === 'stage' && !(typeof v === 'string' && STAGE_KEY_RE.test(v))) bad('must be a stage key');
    else if (spec.value === 'user' && !(typeof v === 'string' && UUID_RE.test(v))) bad('must be a user id');
    else if (spec.value === 'days' && !(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 3650))
      bad('must be a whole number of days from 1 to 3650');
  });
export type SegmentCondition = z.infer<typeof segmentCondition>;

/** A segment: contacts with an email matching all (or any) of the conditions, evaluated when read or sent. */
export const segmentFilter = z
  .object({
    match: z.enum(['all', 'any']).default('all'),
    conditions: z.array(segmentCondition).max(20),
  })
  .strict();
export type SegmentFilter = z.infer<typeof segmentFilter>;

// ---- Lists

export const listCounts = z.object({
  subscribed: z.number().int(),
  unconfirmed: z.number().int(),
  unsubscribed: z.number().int(),
});

export const mailingList = z.object({
  id: uuid,
  name: z.string(),
  description: z.string().nullable(),
  kind: listKind,
  filter: segmentFilter.nullable(),
  doubleOptIn: z.boolean(),
  publicForm: z.boolean(),
  consentText: z.string().nullable(),
  /** A static list: its members by status; a segment: `subscribed` is the live match count. */
  counts: listCounts,
  archivedAt: isoDate.nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  version: z.number().int(),
});
export type MailingListDto = z.infer<typeof mailingList>;
export const mailingListList = z.object({ items: z.array(mailingList) });

const name = z.string().trim().min(1).max(200);
const description = z.string().trim().max(2000).nullable().optional();
const consentText = z.string().trim().max(5000).nullable().optional();

export const listInput = z
  .object({
    name,
    description,
    kind: listKind.default('static'),
    filter: segmentFilter.optional(),
    doubleOptIn: z.boolean().optional(),
    publicForm: z.boolean().optional(),
    consentText,
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.kind === 'segment' && !v.filter)
      ctx.addIssue({ code: 'custom', path: ['filter'], message: 'a segment needs a filter' });
    if (v.kind === 'static' && v.filter)
      ctx.addIssue({ code: 'custom', path: ['filter'], message: 'only a segment has a filter' });
  });
export type ListInput = z.infer<typeof listInput>;

export const listPatch = z
  .object({
    name: name.optional(),
    description,
    filter: segmentFilter.optional(),
    doubleOptIn: z.boolean().optional(),
    publicForm: z.boolean().optional(),
    consentText,
    archived: z.boolean().optional(),
    version: z.number().int().min(1),
  })
  .strict();
export type ListPatch = z.infer<typeof listPatch>;

// ---- Members

export const listMember = z.object({
  contactId: uuid.nullable(),
  name: z.string().nullable(),
  company: z.string().nullable(),
  companyId: uuid.nullable(),
  address: z.string(),
  status: consentStatus,
  source: consentSource.nullable(),
  signedUpAt: isoDate.nullable(),
  confirmedAt: isoDate.nullable(),
});
export type ListMember = z.infer<typeof listMember>;
export const listMemberPage = page(listMember);

export const memberQuery = z.object({
  status: consentStatus.optional(),
  q: z.string().trim().max(200).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Who to add: contacts by id, everyone a saved view of contacts or companies shows, or companies' contacts. */
export const addMembersInput = z
  .object({
    contactIds: z.array(z.uuid()).min(1).max(1000).optional(),
    savedViewId: z.uuid().optional(),
    companyIds: z.array(z.uuid()).min(1).max(1000).optional(),
  })
  .strict()
  .refine((v) => [v.contactIds, v.savedViewId, v.companyIds].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of contactIds, savedViewId, companyIds',
  });
export type AddMembersInput = z.infer<typeof addMembersInput>;

export const addMembersResult = z.object({
  added: z.number().int(),
  /** Already subscribed. */
  already: z.number().int(),
  /** Contacts without an email address. */
  noEmail: z.number().int(),
  /** Unsubscribed, bounced or complained: never re-subscribed by the team. */
  suppressed: z.number().int(),
});
export type AddMembersResult = z.infer<typeof addMembersResult>;

// ---- Preview

export const previewContact = z.object({
  id: uuid,
  name: z.string(),
  email: z.string(),
  company: z.string().nullable(),
});
export const segmentPreview = z.object({ count: z.number().int(), sample: z.array(previewContact) });
export type SegmentPreview = z.infer<typeof segmentPreview>;
export const previewInput = z.object({ filter: segmentFilter }).strict();

// ---- CSV import of subscribers

/** Columns of a subscriber CSV a header can be mapped to. */
export const SUBSCRIBER_COLUMNS = [
  'email',
  'first_name',
  'last_name',
  'company',
  'consent_date',
  'consent_source',
  'ip',
  'consent_text',
] as const;
export type SubscriberColumn = (typeof SUBSCRIBER_COLUMNS)[number];

export const subscriberImport = z.object({
  id: uuid,
  listId: uuid,
  fileName: z.string(),
  status: z.enum(['queued', 'running', 'completed', 'failed']),
  totalRows: z.number().int(),
  processedRows: z.number().int(),
  /** Subscribed by this import. */
  createdRows: z.number().int(),
  /** Addresses not re-subscribed because they unsubscribed, bounced or complained (each listed in `errors`). */
  skippedRows: z.number().int(),
  /** Rows with a problem, and the skipped addresses, by line number (the header is line 1). */
  errors: z.array(importRowError),
  failure: z.string().nullable(),
  finishedAt: isoDate.nullable(),
});
export type SubscriberImport = z.infer<typeof subscriberImport>;
