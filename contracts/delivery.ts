import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';

/**
 * Bulk delivery, shared by newsletters, cold-email sequences and bulk messaging: one send row per recipient of a
 * source (a campaign, a sequence step...), claimed in batches by any worker and marked one by one, and the counters
 * kept on write for reports.
 */

/** What a send row belongs to. */
export const SEND_SOURCES = ['campaign', 'sequence', 'bulk_message'] as const;
export const sendSource = z.enum(SEND_SOURCES);
export type SendSource = z.infer<typeof sendSource>;

/**
 * A send row's life: `pending` (never tried) and `deferred` (a 4xx: tried again later) wait for a claim; `sending`
 * is claimed by a worker now. Terminal: `sent` (the server took it), `bounced` (a 5xx, or a DSN came back),
 * `failed` (gave up after the retries), `suppressed` (the consent check refused it in the send transaction),
 * `cancelled` (the source was cancelled before it went).
 */
export const SEND_STATUSES = [
  'pending',
  'sending',
  'deferred',
  'sent',
  'bounced',
  'failed',
  'suppressed',
  'cancelled',
] as const;
export const sendStatus = z.enum(SEND_STATUSES);
export type SendStatus = z.infer<typeof sendStatus>;
export const TERMINAL_SEND_STATUSES: readonly SendStatus[] = ['sent', 'bounced', 'failed', 'suppressed', 'cancelled'];

/**
 * The counters of a source (or one of its variants), kept on write. `sent` counts every message a receiving server
 * answered for (a 250, or a 5xx refusal then and there); `bounced` the refused and those bounced back later by a DSN,
 * so delivered = sent - bounced.
 */
export const STAT_COUNTERS = [
  'recipients',
  'sent',
  'deferred',
  'bounced',
  'failed',
  'suppressed',
  'cancelled',
  'opened',
  'clicked',
  'replied',
  'unsubscribed',
  'complained',
] as const;
export type StatCounter = (typeof STAT_COUNTERS)[number];
export const deliveryCounters = z.object(
  Object.fromEntries(STAT_COUNTERS.map((k) => [k, z.number().int()])) as Record<StatCounter, z.ZodNumber>,
);
export type DeliveryCounters = z.infer<typeof deliveryCounters>;

/** One hour of a source's activity, for the chart over time. */
export const STAT_HOURLY_COUNTERS = ['sent', 'opened', 'clicked', 'bounced', 'unsubscribed', 'complained'] as const;
export type StatHourlyCounter = (typeof STAT_HOURLY_COUNTERS)[number];
export const deliveryHour = z.object({
  hour: isoDate,
  ...(Object.fromEntries(STAT_HOURLY_COUNTERS.map((k) => [k, z.number().int()])) as Record<
    StatHourlyCounter,
    z.ZodNumber
  >),
});
export type DeliveryHour = z.infer<typeof deliveryHour>;

/** A tracked link of a source, with its clicks (all, and by people rather than scanners). */
export const deliveryLink = z.object({
  index: z.number().int(),
  url: z.string(),
  clicks: z.number().int(),
  humanClicks: z.number().int(),
});
export type DeliveryLink = z.infer<typeof deliveryLink>;

/** One recipient's row as a report lists it. */
export const sendRow = z.object({
  id: uuid,
  contactId: uuid.nullable(),
  address: z.string().nullable(),
  variant: z.string().nullable(),
  status: sendStatus,
  attempts: z.number().int(),
  lastResponse: z.string().nullable(),
  sentAt: isoDate.nullable(),
  openedAt: isoDate.nullable(),
  clickedAt: isoDate.nullable(),
  bouncedAt: isoDate.nullable(),
  complainedAt: isoDate.nullable(),
  unsubscribedAt: isoDate.nullable(),
});
export type SendRow = z.infer<typeof sendRow>;
