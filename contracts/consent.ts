import { z } from './zod.ts';

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
