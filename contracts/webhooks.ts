import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';
import { ACTIVITY_TYPES, type ActivityType } from './timeline.ts';

/**
 * Outbound webhooks (issue 17): a workspace's subscriptions to its activity types, signed deliveries and their log.
 * Only owners and admins manage them (a URL can carry a receiver's token; the secret signs on the workspace's behalf).
 */

/** The event picker's groups: the events first, every other activity type under "Other". */
export const WEBHOOK_EVENT_GROUPS = {
  records: [
    'company.created',
    'company.updated',
    'company.deleted',
    'contact.created',
    'contact.updated',
    'contact.deleted',
    'deal.created',
    'deal.updated',
    'deal.deleted',
  ],
  deals: ['deal.stage_changed'],
  notes: ['note.added', 'note.updated', 'note.deleted'],
  email: ['email.received', 'email.sent'],
  meetings: ['meeting.scheduled', 'meeting.completed'],
  tasks: ['task.created', 'task.completed'],
} as const satisfies Record<string, readonly ActivityType[]>;
export type WebhookEventGroup = keyof typeof WEBHOOK_EVENT_GROUPS;

/** Any activity type of the timeline (an unknown one is a 400). */
export const webhookEventType = z
  .string()
  .refine((v) => (ACTIVITY_TYPES as string[]).includes(v), { message: 'Unknown event type' });

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export const deliveryStatus = z.enum(DELIVERY_STATUSES);

export const webhook = z.object({
  id: uuid,
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  active: z.boolean(),
  /** Why Filo turned it off (deliveries kept failing); null when on, or turned off by hand. */
  disabledReason: z.string().nullable(),
  consecutiveFailures: z.number().int(),
  createdBy: z.object({ id: uuid, name: z.string() }).nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
});
export type Webhook = z.infer<typeof webhook>;

export const webhookList = z.object({ items: z.array(webhook) });

/** The answer of create and rotate: the only time the secret is shown. */
export const webhookWithSecret = z.object({ webhook, secret: z.string() });

export const webhookCreate = z
  .object({
    url: z.string().trim().min(1).max(2000),
    description: z.string().trim().max(500).nullable().optional(),
    events: z.array(webhookEventType).min(1).max(200),
    active: z.boolean().optional(),
  })
  .strict();

export const webhookUpdate = z
  .object({
    url: z.string().trim().min(1).max(2000).optional(),
    description: z.string().trim().max(500).nullable().optional(),
    events: z.array(webhookEventType).min(1).max(200).optional(),
    active: z.boolean().optional(),
  })
  .strict();

export const webhookDelivery = z.object({
  id: uuid,
  event: z.string(),
  /** The activity delivered (null for a test ping). */
  activityId: uuid.nullable(),
  recordType: z.string().nullable(),
  recordId: z.string().nullable(),
  status: deliveryStatus,
  attempts: z.number().int(),
  responseStatus: z.number().int().nullable(),
  /** The receiver's first bytes (at most 1 KB), or why no answer came. */
  responseExcerpt: z.string().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  nextAttemptAt: isoDate.nullable(),
  lastAttemptAt: isoDate.nullable(),
  deliveredAt: isoDate.nullable(),
  createdAt: isoDate,
});
export type WebhookDelivery = z.infer<typeof webhookDelivery>;

export const deliveryList = z.object({ items: z.array(webhookDelivery) });
export const deliveryQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });
