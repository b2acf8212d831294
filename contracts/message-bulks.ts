import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';

/**
 * Bulk messages (issue 19): one text or template sent on one channel of a messaging account to the contacts of
 * mailing lists or live segments, through the shared bulk engine (`bulk_sends`, source `bulk_message`): consent of
 * the channel checked per recipient in the send transaction, at the chosen pace, each recipient at most once.
 *
 * Routes (under `/api/messaging`): GET /bulks, POST /bulks (bulkMessageInput -> bulkMessage, 201, a draft),
 * GET /bulks/:id (-> bulkMessage with its report), POST /bulks/:id/start, POST /bulks/:id/cancel.
 */

/** The channels a bulk message can go on (Discord webhooks post to a channel, not to people). */
export const BULK_MESSAGE_CHANNELS = ['sms', 'whatsapp', 'telegram'] as const;
export const bulkMessageChannel = z.enum(BULK_MESSAGE_CHANNELS);
export type BulkMessageChannel = z.infer<typeof bulkMessageChannel>;

export const BULK_MESSAGE_STATES = ['draft', 'sending', 'done', 'cancelled'] as const;
export type BulkMessageState = (typeof BULK_MESSAGE_STATES)[number];

/** The pace bounds: from one message a minute to 100 a second (providers' long codes take about one a second). */
export const BULK_RATE_MIN = 1;
export const BULK_RATE_MAX = 6000;

export const bulkMessageInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    accountId: uuid,
    channel: bulkMessageChannel,
    /** Mailing lists or segments (contacts with a number on sms/whatsapp, a conversation on telegram). */
    listIds: z.array(uuid).min(1).max(20),
    /** Free text, or an approved template (WhatsApp outside the 24-hour window: a template only). */
    text: z.string().trim().min(1).max(1600).nullable().default(null),
    templateId: uuid.nullable().default(null),
    /** The template's variables: fixed values, or `{{first_name}}`-style contact fields filled per recipient. */
    variables: z.record(z.string().max(40), z.string().max(1000)).default({}),
    /** Messages per minute. */
    ratePerMinute: z.number().int().min(BULK_RATE_MIN).max(BULK_RATE_MAX).default(60),
  })
  .strict()
  .refine((v) => !!v.text !== !!v.templateId, { message: 'give either a text or a template', path: ['text'] });
export type BulkMessageInput = z.input<typeof bulkMessageInput>;

/** Where the recipients are: how many, and how many rows reached each state. */
export const bulkMessageReport = z.object({
  recipients: z.number(),
  /** Not yet handed to the provider. */
  pending: z.number(),
  /** Refused by consent (STOP, unsubscribed) or with no address, never sent. */
  suppressed: z.number(),
  sent: z.number(),
  delivered: z.number(),
  read: z.number(),
  failed: z.number(),
  /** Provider error codes of the failed ones, most frequent first (with their words). */
  errors: z.array(z.object({ code: z.string().nullable(), error: z.string().nullable(), count: z.number() })),
});
export type BulkMessageReport = z.infer<typeof bulkMessageReport>;

export const bulkMessage = z.object({
  id: uuid,
  name: z.string(),
  accountId: uuid,
  channel: bulkMessageChannel,
  listIds: z.array(uuid),
  text: z.string().nullable(),
  templateId: uuid.nullable(),
  variables: z.record(z.string(), z.string()),
  ratePerMinute: z.number(),
  state: z.enum(BULK_MESSAGE_STATES),
  startedAt: isoDate.nullable(),
  finishedAt: isoDate.nullable(),
  createdAt: isoDate,
  report: bulkMessageReport,
});
export type BulkMessage = z.infer<typeof bulkMessage>;
export const bulkMessageList = z.object({ items: z.array(bulkMessage) });
