import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { DELIVERY_STATUSES } from '#contracts/webhooks';
import { tenantOwned, timestamps, userRef } from './tenant-owned.ts';

/** A workspace's outbound webhook: where to POST which activity types, signed with its (encrypted) secret. */
export const WebhookSchema = defineEntity({
  name: 'Webhook',
  tableName: 'webhooks',
  properties: {
    ...tenantOwned,
    ...timestamps,
    url: p.text(),
    description: p.string().length(500).nullable(),
    events: p.json<string[]>().default('[]'),
    active: p.boolean().default(true),
    /** AES-GCM under SECRET_KEY (server/crypto): shown once at creation and rotation, never again. */
    secretEnc: p.text(),
    createdBy: () => userRef('created_by'),
    disabledReason: p.string().length(200).nullable(),
    /** Failed attempts in a row (a success resets it): past the limit the webhook turns itself off. */
    consecutiveFailures: p.integer().default(0),
  },
  indexes: [{ properties: ['tenantId', 'createdAt'] }],
});
export type Webhook = InferEntity<typeof WebhookSchema>;

/** One activity (or a test ping) to one webhook: retried until delivered or its window closes; the log's row. */
export const WebhookDeliverySchema = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  properties: {
    ...tenantOwned,
    webhookId: () =>
      p.manyToOne(WebhookSchema).mapToPk().fieldName('webhook_id').deleteRule('cascade').updateRule('cascade'),
    event: p.string().length(64),
    activityId: p.uuid().nullable(),
    /** The activity's seq: deliveries of one record go out in this order. */
    activitySeq: p.bigint('number').nullable(),
    /** `type:id` of the record the activity is about: an earlier pending delivery of it holds the later ones back. */
    recordKey: p.string().length(120).nullable(),
    /** The JSON body, fixed when the activity is read (a resend sends the same body). */
    payload: p.json<Record<string, unknown>>(),
    status: p.enum(DELIVERY_STATUSES).default('pending'),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime().defaultRaw('now()'),
    /** Retried until then. */
    expiresAt: p.datetime(),
    lastAttemptAt: p.datetime().nullable(),
    responseStatus: p.integer().nullable(),
    responseExcerpt: p.text().nullable(),
    error: p.string().length(500).nullable(),
    durationMs: p.integer().nullable(),
    deliveredAt: p.datetime().nullable(),
  },
  indexes: [
    { properties: ['tenantId', 'webhookId', 'createdAt'] },
    {
      name: 'webhook_deliveries_due_index',
      expression: `create index "webhook_deliveries_due_index" on "webhook_deliveries" ("tenant_id", "next_attempt_at") where "status" = 'pending'`,
    },
    {
      name: 'webhook_deliveries_record_index',
      expression: `create index "webhook_deliveries_record_index" on "webhook_deliveries" ("tenant_id", "webhook_id", "record_key", "activity_seq") where "status" = 'pending'`,
    },
  ],
});
export type WebhookDelivery = InferEntity<typeof WebhookDeliverySchema>;
