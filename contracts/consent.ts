import { z } from './zod.ts';
import { isoDate, page, uuid } from './common.ts';

/**
 * Consent and suppression, one model for every channel: per (channel, address) and per list (or for the whole
 * channel when `listId` is null), the status and the evidence of how it came to be.
 */

/** The channels consent is kept for (an email address, an E.164 number, a chat id). */
export const CONSENT_CHANNELS = ['email', 'sms', 'whatsapp', 'telegram', 'discord'] as const;
export const consentChannel = z.enum(CONSENT_CHANNELS);
export type ConsentChannel = z.infer<typeof consentChannel>;

/**
 * `subscribed` (confirmed, or added with a lawful basis), `unconfirmed` (double opt-in pending: never mailed but for
 * the confirmation), `unsubscribed`, `bounced` (a hard bounce), `complained` (marked as spam).
 */
export const CONSENT_STATUSES = ['subscribed', 'unconfirmed', 'unsubscribed', 'bounced', 'complained'] as const;
export const consentStatus = z.enum(CONSENT_STATUSES);
export type ConsentStatus = z.infer<typeof consentStatus>;
/** Statuses that forbid sending (for a list, or for the whole channel when set with no list). */
export const BLOCKING_CONSENT_STATUSES: readonly ConsentStatus[] = ['unsubscribed', 'bounced', 'complained'];

/** Where a consent change came from. */
export const CONSENT_SOURCES = [
  'form',
  'import',
  'api',
  'crm',
  'manual',
  'one_click',
  'preference_center',
  'complaint',
  'bounce',
  'stop',
  'erasure',
] as const;
export const consentSource = z.enum(CONSENT_SOURCES);
export type ConsentSource = z.infer<typeof consentSource>;

/** One change of a consent row as it was recorded: the proof of consent (or of its withdrawal). */
export const consentEvent = z.object({
  id: uuid,
  status: consentStatus,
  source: consentSource,
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  consentText: z.string().nullable(),
  /** What the member who changed it by hand wrote down (a phone call, a signed paper form). */
  note: z.string().nullable(),
  actor: z.object({ id: uuid, name: z.string() }).nullable(),
  createdAt: isoDate,
});
export type ConsentEventDto = z.infer<typeof consentEvent>;

/** A consent row with its evidence and history (`listId` null: the whole channel). */
export const consentRecord = z.object({
  id: uuid,
  channel: consentChannel,
  address: z.string().nullable(),
  listId: uuid.nullable(),
  listName: z.string().nullable(),
  status: consentStatus,
  source: consentSource,
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  consentText: z.string().nullable(),
  signedUpAt: isoDate.nullable(),
  confirmedAt: isoDate.nullable(),
  withdrawnAt: isoDate.nullable(),
  updatedAt: isoDate,
  events: z.array(consentEvent),
});
export type ConsentRecord = z.infer<typeof consentRecord>;

/** A contact's consent per channel and address: the whole-channel row (if any) and each list's. */
export const contactConsent = z.object({
  contactId: uuid,
  addresses: z.array(
    z.object({
      channel: consentChannel,
      address: z.string(),
      overall: consentRecord.nullable(),
      lists: z.array(consentRecord),
    }),
  ),
});
export type ContactConsent = z.infer<typeof contactConsent>;

/** A manual change by a member; subscribing an address that bounced or complained takes `force` (admins). */
export const consentChangeInput = z.strictObject({
  channel: consentChannel.default('email'),
  /** Defaults to the contact's address on that channel. */
  address: z.string().trim().min(1).max(320).optional(),
  listId: z.uuid().nullable(),
  status: z.enum(['subscribed', 'unsubscribed']),
  note: z.string().trim().max(2000).optional(),
  force: z.boolean().optional(),
});
export type ConsentChangeInput = z.infer<typeof consentChangeInput>;

/** How a suppression shows: an erased person's row has no address and reads `erased`. */
export const SUPPRESSION_STATUSES = ['unsubscribed', 'bounced', 'complained', 'erased'] as const;
export const suppressionStatus = z.enum(SUPPRESSION_STATUSES);

/** A channel-wide refusal: nothing of that channel goes to the address. */
export const suppression = z.object({
  id: uuid,
  channel: consentChannel,
  address: z.string().nullable(),
  status: suppressionStatus,
  source: consentSource,
  contactId: uuid.nullable(),
  updatedAt: isoDate,
});
export type Suppression = z.infer<typeof suppression>;
export const suppressionPage = page(suppression);

export const suppressionQuery = z.strictObject({
  q: z.string().trim().max(320).optional(),
  status: suppressionStatus.optional(),
  channel: consentChannel.optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const suppressionInput = z.strictObject({
  channel: consentChannel.default('email'),
  address: z.string().trim().min(3).max(320),
  reason: z.string().trim().max(2000).optional(),
});
export type SuppressionInput = z.infer<typeof suppressionInput>;

/** The typed confirmation of an erasure: the contact's email or full name. */
export const eraseInput = z.strictObject({ confirm: z.string().trim().min(1).max(400) });
