import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { TenantSchema } from './tenant.entity.ts';

/**
 * How far a consumer of the event feed (server/timeline/feed.ts) has read a workspace's activities. It advances in
 * the transaction that writes the consumer's effects, and its row lock lets one node at a time read the workspace.
 */
export const FeedCursorSchema = defineEntity({
  name: 'FeedCursor',
  tableName: 'feed_cursors',
  properties: {
    tenantId: () =>
      p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').deleteRule('cascade').updateRule('cascade').primary(),
    consumer: p.string().length(40).primary(),
    /** The last activity seq whose effects are committed. */
    seq: p.bigint('number').default(0),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type FeedCursor = InferEntity<typeof FeedCursorSchema>;
