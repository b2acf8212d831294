import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { tenantOwned } from './tenant-owned.ts';
import { UserSchema } from './user.entity.ts';

/**
 * A member's calendar subscription (ICS feed) in a workspace. The URL carries a random token; only its SHA-256
 * is kept, and calendar apps fetch it without a session.
 */
export const CalendarFeedSchema = defineEntity({
  name: 'CalendarFeed',
  tableName: 'calendar_feeds',
  properties: {
    ...tenantOwned,
    userId: () => p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').updateRule('cascade'),
    tokenHash: p.string().length(64).unique(),
    lastUsedAt: p.datetime().nullable(),
  },
  uniques: [{ properties: ['tenantId', 'userId'] }],
});
export type CalendarFeed = InferEntity<typeof CalendarFeedSchema>;
