import { z } from 'zod';
import { isIanaZone } from '../sequences/zones.ts';
import { RECORD_TYPES, recordType } from '#contracts/common';
import {
  COMPANY_SIZES,
  COMPANY_SORTS,
  COMPANY_STATUSES,
  COMPANY_TYPES,
  CONTACT_SORTS,
  CONTACT_STATUSES,
  DEAL_SORTS,
  NOTE_TYPES,
  normalizeUrl,
} from '#contracts/crm';
import { stageKey } from '#contracts/pipeline';

const text = (max: number) => z.string().trim().max(max);
const optionalText = (max: number) => text(max).nullable().optional();
/** A web address; a bare domain (`acme.com`, `www.acme.com`) is taken as `https://` it. */
const webUrl = (max = 2000) =>
  z
    .string()
    .trim()
    .max(max)
    .transform(normalizeUrl)
    .refine((v) => /^https?:\/\/[^\s/?#]+\S*$/i.test(v), {
      message: 'must be an http(s) URL or a domain such as acme.com',
      params: { reason: 'invalid_url' },
    });
const url = webUrl();
const date = z.iso.date();
const money = z
  .union([z.number(), z.string().regex(/^-?\d{1,13}(\.\d{1,2})?$/, 'must be an amount with at most 2 decimals')])
  .transform((v) => (typeof v === 'number' ? v.toFixed(2) : v))
  .refine((v) => Math.abs(Number(v)) < 1e13, 'is too large');
const tags = z.array(text(50).min(1)).max(50);
const customFields = z.record(z.string().max(100), z.unknown());
export const uuid = z.uuid();
/** The version an edit was made on: a stale one answers 409 `version_conflict` (optional for API clients). */
export const version = z.number().int().min(1);

const address = z
  .object({
    street: text(255).optional(),
    city: text(100).optional(),
    postalCode: text(20).optional(),
    province: text(100).optional(),
    country: text(100).optional(),
  })
  .strict();

export const companyInput = z
  .object({
    name: text(255).min(1),
    type: z.enum(COMPANY_TYPES),
    vatNumber: optionalText(50),
    taxCode: optionalText(50),
    website: url.nullable().optional(),
    industry: optionalText(100),
    size: z.enum(COMPANY_SIZES).nullable().optional(),
    annualRevenue: money.nullable().optional(),
    logoUrl: url.nullable().optional(),
    billingAddress: address.nullable().optional(),
    shippingAddress: address.nullable().optional(),
    customFields: customFields.optional(),
    tags: tags.optional(),
    status: z.enum(COMPANY_STATUSES).optional(),
    assignedTo: uuid.nullable().optional(),
  })
  .strict();
export const companyPatch = companyInput.partial().extend({ version: version.optional() }).strict();

export const contactInput = z
  .object({
    companyId: uuid.nullable().optional(),
    firstName: text(100).min(1),
    lastName: text(100).min(1),
    email: z.email().max(255).nullable().optional(),
    phone: optionalText(50),
    mobile: optionalText(50),
    role: optionalText(100),
    department: optionalText(100),
    isPrimary: z.boolean().optional(),
    avatarUrl: url.nullable().optional(),
    linkedinUrl: webUrl(255).nullable().optional(),
    birthday: date.nullable().optional(),
    timeZone: z.string().max(64).refine(isIanaZone, 'not an IANA time zone (e.g. Europe/Rome)').nullable().optional(),
    customFields: customFields.optional(),
    notes: optionalText(20_000),
    tags: tags.optional(),
    status: z.enum(CONTACT_STATUSES).optional(),
  })
  .strict();
export const contactPatch = contactInput.partial().extend({ version: version.optional() }).strict();

export const dealInput = z
  .object({
    companyId: uuid.nullable().optional(),
    title: text(255).min(1),
    value: money.nullable().optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
      .optional(),
    stage: stageKey.optional(),
    probability: z.number().int().min(0).max(100).nullable().optional(),
    expectedCloseDate: date.nullable().optional(),
    actualCloseDate: date.nullable().optional(),
    source: optionalText(100),
    customFields: customFields.optional(),
    assignedTo: uuid.nullable().optional(),
  })
  .strict();
export const dealPatch = dealInput.partial().extend({ version: version.optional() }).strict();

export const NOTE_ENTITY_TYPES = RECORD_TYPES;
export const noteInput = z
  .object({
    entityType: z.enum(NOTE_ENTITY_TYPES),
    entityId: uuid,
    content: z.string().trim().min(1).max(50_000),
    noteType: z.enum(NOTE_TYPES).default('general'),
    isPinned: z.boolean().default(false),
    mentions: z.array(uuid).max(50).default([]),
  })
  .strict();
export const notePatch = z
  .object({
    content: z.string().trim().min(1).max(50_000).optional(),
    noteType: z.enum(NOTE_TYPES).optional(),
    isPinned: z.boolean().optional(),
    mentions: z.array(uuid).max(50).optional(),
    version: version.optional(),
  })
  .strict();

const limit = z.coerce.number().int().min(1).max(200).default(50);
export const listQuery = {
  q: z.string().trim().max(200).optional(),
  cursor: z.string().max(500).optional(),
  limit,
};
export const companyListQuery = z.object({
  ...listQuery,
  type: z.enum(COMPANY_TYPES).optional(),
  status: z.enum(COMPANY_STATUSES).optional(),
  tag: z.string().max(50).optional(),
  assignedTo: uuid.optional(),
  sort: z.enum(COMPANY_SORTS).default('name'),
});
export const contactListQuery = z.object({
  ...listQuery,
  companyId: uuid.optional(),
  sort: z.enum(CONTACT_SORTS).default('name'),
});
export const dealListQuery = z.object({
  ...listQuery,
  companyId: uuid.optional(),
  stage: stageKey.optional(),
  sort: z.enum(DEAL_SORTS).default('-createdAt'),
});
export const timelineQuery = z.object({
  entityType: recordType.optional(),
  entityId: uuid.optional(),
  before: z.coerce.number().int().min(0).optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit,
});
