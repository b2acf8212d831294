import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { SEND_SOURCES } from '#contracts/delivery';
import { TenantSchema } from './tenant.entity.ts';

const tenantId = () =>
  p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').deleteRule('cascade').updateRule('cascade');
const counter = () => p.integer().default(0);

/**
 * The counters of a bulk source, per variant ('' when it has none), kept on write by the delivery engine and the
 * handlers of opens, clicks, replies, unsubscribes, bounces and complaints (reports never count send rows).
 */
export const DeliveryStatSchema = defineEntity({
  name: 'DeliveryStat',
  tableName: 'delivery_stats',
  properties: {
    tenantId,
    source: p.enum(SEND_SOURCES).primary(),
    sourceId: p.uuid().primary(),
    variant: p.string().length(8).primary(),
    recipients: counter(),
    sent: counter(),
    deferred: counter(),
    bounced: counter(),
    failed: counter(),
    suppressed: counter(),
    cancelled: counter(),
    opened: counter(),
    clicked: counter(),
    replied: counter(),
    unsubscribed: counter(),
    complained: counter(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .defaultRaw('now()'),
  },
  primaryKeys: ['source', 'sourceId', 'variant'],
  indexes: [{ properties: ['tenantId', 'source', 'sourceId'] }],
});
export type DeliveryStat = InferEntity<typeof DeliveryStatSchema>;

/** A source's activity per hour, for the chart over time. */
export const DeliveryStatHourSchema = defineEntity({
  name: 'DeliveryStatHour',
  tableName: 'delivery_stat_hours',
  properties: {
    tenantId,
    source: p.enum(SEND_SOURCES).primary(),
    sourceId: p.uuid().primary(),
    hour: p.datetime().primary(),
    sent: counter(),
    opened: counter(),
    clicked: counter(),
    bounced: counter(),
    unsubscribed: counter(),
    complained: counter(),
  },
  primaryKeys: ['source', 'sourceId', 'hour'],
  indexes: [{ properties: ['tenantId', 'source', 'sourceId', 'hour'] }],
});
export type DeliveryStatHour = InferEntity<typeof DeliveryStatHourSchema>;

/** A tracked link of a source (by its position in the compiled content) and its clicks. */
export const DeliveryLinkSchema = defineEntity({
  name: 'DeliveryLink',
  tableName: 'delivery_links',
  properties: {
    tenantId,
    source: p.enum(SEND_SOURCES).primary(),
    sourceId: p.uuid().primary(),
    linkIndex: p.integer().primary(),
    url: p.text(),
    clicks: counter(),
    humanClicks: counter(),
  },
  primaryKeys: ['source', 'sourceId', 'linkIndex'],
  indexes: [{ properties: ['tenantId', 'source', 'sourceId'] }],
});
export type DeliveryLink = InferEntity<typeof DeliveryLinkSchema>;
