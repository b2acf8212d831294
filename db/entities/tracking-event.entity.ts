import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { MessageSchema } from './message.entity.ts';
import { tenantOwned } from './tenant-owned.ts';

export const TRACKING_KINDS = ['open', 'click'] as const;

/**
 * One load of an outgoing message's open pixel or one follow of a tracked link (opt-in per mailbox). `machine`
 * marks a proxy or prefetch (Gmail's image proxy, Apple Mail Privacy Protection, a load within seconds of
 * sending): kept for the record, never shown as the customer's own open or click.
 */
export const TrackingEventSchema = defineEntity({
  name: 'TrackingEvent',
  tableName: 'tracking_events',
  properties: {
    ...tenantOwned,
    messageId: () =>
      p.manyToOne(MessageSchema).mapToPk().fieldName('message_id').deleteRule('cascade').updateRule('cascade'),
    kind: p.enum(TRACKING_KINDS),
    /** Clicks: the link's position in the message's tracked links. */
    linkIndex: p.integer().nullable(),
    url: p.text().nullable(),
    machine: p.boolean().default(false),
    userAgent: p.string().length(500).nullable(),
  },
  indexes: [{ properties: ['tenantId', 'messageId', 'createdAt'] }],
});
export type TrackingEvent = InferEntity<typeof TrackingEventSchema>;
