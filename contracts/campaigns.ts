import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';
import { deliveryCounters } from './delivery.ts';
import { abMetric, blockDocument, campaignStatus } from './newsletters.ts';

/**
 * Newsletter campaigns as the API takes and answers them (all under `/api/newsletters`): the campaign, its A/B
 * variants, preview and test sends, the starter templates and the lifecycle commands (schedule, send, pause,
 * resume, cancel). A campaign is editable while `draft` or `scheduled`; an edit made on a stale `version` answers
 * 409 `version_conflict` (with `current`). Tokens in the subject, preheader or blocks are checked on save: an
 * unknown or malformed one answers 400 `unknown_token` with `fields` and `position` {field, line, column, offset}.
 *
 * Routes: GET /campaigns (campaignListQuery -> campaignList), POST /campaigns (campaignInput -> campaign, 201),
 * GET|PATCH|DELETE /campaigns/:id (campaignPatch; DELETE: draft only, 204), POST /campaigns/:id/duplicate
 * (-> campaign, a draft), POST /campaigns/:id/preview, POST /campaigns/:id/test, GET /templates, and
 * POST /campaigns/:id/{schedule,send,pause,resume,cancel} (-> campaign). Another workspace's ids answer 404.
 */

const id = z.string().uuid();
const address = z.string().trim().toLowerCase().email().max(320);
const dateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-12-01T15:00:00Z' });

/** The merge tokens a campaign may carry beyond the template ones (`contact.first_name`...). */
export const CAMPAIGN_TOKENS = ['unsubscribe_url', 'preferences_url'] as const;

/** A variant's key: `A`, `B`, `C`. */
export const VARIANT_KEYS = ['A', 'B', 'C'] as const;
export const variantKey = z.enum(VARIANT_KEYS);

/** One variant of an A/B test: its own subject and, optionally, its own content (null: the campaign's). */
export const campaignVariant = z
  .object({
    key: variantKey,
    subject: z.string().trim().min(1).max(998),
    content: blockDocument.nullable().default(null),
    /** Share of the test group, in percent; the variants' weights add up to 100. */
    weight: z.number().int().min(1).max(99),
  })
  .strict();
export type CampaignVariant = z.infer<typeof campaignVariant>;

/** The A/B test: `testPercent` of the audience is split among the variants; after `waitMinutes` the winner by `metric` goes to the rest. */
export const abSettings = z
  .object({
    metric: abMetric,
    testPercent: z.number().int().min(5).max(50),
    waitMinutes: z.number().int().min(5).max(10_080),
  })
  .strict();
export type AbSettings = z.infer<typeof abSettings>;

const variants = z
  .array(campaignVariant)
  .max(3)
  .refine((v) => v.length === 0 || v.length >= 2, { message: 'an A/B test needs at least two variants' })
  .refine((v) => new Set(v.map((x) => x.key)).size === v.length, { message: 'variant keys must be different' })
  .refine((v) => v.length === 0 || v.reduce((s, x) => s + x.weight, 0) === 100, {
    message: 'the variants’ weights must add up to 100',
  });

const editable = {
  name: z.string().trim().min(1).max(200),
  /** Static lists and segments; the audience is their subscribed members, deduplicated by address. */
  listIds: z.array(id).max(50),
  /** The transport (and default From): a shared mailbox; null: the workspace relay, else the development outbox. */
  mailboxId: id.nullable(),
  fromName: z.string().trim().max(200).nullable(),
  /** The From address: the mailbox's, or one at a verified sending domain or the workspace's inbound domain. */
  fromEmail: address.nullable(),
  replyTo: address.nullable(),
  subject: z.string().trim().max(998),
  /** The preview line inbox apps show after the subject (hidden in the body). */
  preheader: z.string().trim().max(500).nullable(),
  content: blockDocument,
};

/** `POST /campaigns`: a draft; `templateId` (a starter template's id) fills `content` when `content` is left out. */
export const campaignInput = z
  .object({
    name: editable.name,
    listIds: editable.listIds.optional(),
    mailboxId: editable.mailboxId.optional(),
    fromName: editable.fromName.optional(),
    fromEmail: editable.fromEmail.optional(),
    replyTo: editable.replyTo.optional(),
    subject: editable.subject.optional(),
    preheader: editable.preheader.optional(),
    content: editable.content.optional(),
    templateId: z.string().min(1).max(60).optional(),
  })
  .strict();
export type CampaignInput = z.input<typeof campaignInput>;

/** `PATCH /campaigns/:id` (draft or scheduled only, else 409 `campaign_not_editable`); `version` is the one read. */
export const campaignPatch = z
  .object({
    name: editable.name.optional(),
    listIds: editable.listIds.optional(),
    mailboxId: editable.mailboxId.optional(),
    fromName: editable.fromName.optional(),
    fromEmail: editable.fromEmail.optional(),
    replyTo: editable.replyTo.optional(),
    subject: editable.subject.optional(),
    preheader: editable.preheader.optional(),
    content: editable.content.optional(),
    variants: variants.optional(),
    /** null: no A/B test. Needs two or more variants. */
    ab: abSettings.nullable().optional(),
    version: z.number().int(),
  })
  .strict();
export type CampaignPatch = z.input<typeof campaignPatch>;

/** A campaign in the list: its counters are its delivery stats summed over variants (zero before it starts). */
export const campaignSummary = z.object({
  id: uuid,
  name: z.string(),
  status: campaignStatus,
  subject: z.string(),
  listIds: z.array(uuid),
  /** A/B test running or done. */
  ab: abSettings.nullable(),
  scheduledAt: isoDate.nullable(),
  startedAt: isoDate.nullable(),
  finishedAt: isoDate.nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  counters: deliveryCounters,
});
export type CampaignSummary = z.infer<typeof campaignSummary>;

export const campaignListQuery = z
  .object({
    status: campaignStatus.optional(),
    /** Name contains. */
    q: z.string().trim().max(200).optional(),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  })
  .strict();
export const campaignList = z.object({ items: z.array(campaignSummary), nextCursor: z.string().nullable() });

/** The whole campaign, as `GET /campaigns/:id` and every command answer it. */
export const campaign = campaignSummary.extend({
  mailboxId: uuid.nullable(),
  fromName: z.string().nullable(),
  fromEmail: z.string().nullable(),
  replyTo: z.string().nullable(),
  preheader: z.string().nullable(),
  content: blockDocument,
  variants: z.array(campaignVariant),
  winnerVariant: z.string().nullable(),
  winnerAt: isoDate.nullable(),
  createdBy: uuid.nullable(),
  version: z.number().int(),
});
export type Campaign = z.infer<typeof campaign>;

// ---- Preview and test sends

/** `POST /campaigns/:id/preview`: a variant (default the first, or the campaign), with a contact's values or samples. */
export const previewInput = z.object({ variant: variantKey.optional(), contactId: id.optional() }).strict();
export type PreviewInput = z.input<typeof previewInput>;
export const campaignPreview = z.object({
  subject: z.string(),
  html: z.string(),
  text: z.string(),
  /** What MJML or the checks noticed (an empty link, a missing footer...), in words. */
  warnings: z.array(z.string()),
});
export type CampaignPreview = z.infer<typeof campaignPreview>;

/** `POST /campaigns/:id/test`: copies sent now with sample values, through the campaign's transport (429 `rate_limited`). */
export const testSendInput = z
  .object({ to: z.array(address).min(1).max(5), variant: variantKey.optional(), contactId: id.optional() })
  .strict();
export type TestSendInput = z.input<typeof testSendInput>;
export const testSendResult = z.object({ sent: z.number().int(), transport: z.string() });

// ---- Starter templates

/** `GET /newsletters/templates`: block documents to start from (`POST /campaigns {templateId}`). */
export const newsletterTemplate = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  content: blockDocument,
});
export type NewsletterTemplate = z.infer<typeof newsletterTemplate>;
export const newsletterTemplateList = z.object({ items: z.array(newsletterTemplate) });

// ---- Lifecycle

/** `POST /campaigns/:id/schedule`: a time in the future (at most a year ahead); the campaign must be ready. */
export const scheduleInput = z.object({ at: dateTime }).strict();
export type ScheduleInput = z.input<typeof scheduleInput>;

/**
 * Commands (each answers the campaign) and the statuses they need, else 409 `invalid_status`: schedule
 * (draft|scheduled), send (draft|scheduled), pause (sending), resume (paused), cancel (scheduled: back to `draft`;
 * sending|paused: `cancelled`, rows not yet sent are cancelled). Schedule and send first check the campaign is
 * ready, else 400 `campaign_not_ready` with `fields` among listIds, fromEmail, subject, content (a footer block with
 * a postal address) and the token problems.
 */
export const CAMPAIGN_COMMANDS = ['schedule', 'send', 'pause', 'resume', 'cancel'] as const;
export type CampaignCommand = (typeof CAMPAIGN_COMMANDS)[number];

/** The 400 `campaign_not_ready` answer: field -> what is missing. */
export const campaignNotReady = z.object({
  error: z.object({
    code: z.literal('campaign_not_ready'),
    message: z.string(),
    fields: z.record(z.string(), z.string()),
  }),
});
