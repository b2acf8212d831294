import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.ts';
import { RECORD_TYPES } from '#contracts/common';
import { tenantOwned } from './tenant-owned.ts';

/** A named set of list filters (companies, contacts, deals), private to its owner or shared with the team. */
export const SavedViewSchema = defineEntity({
  name: 'SavedView',
  tableName: 'saved_views',
  properties: {
    ...tenantOwned,
    userId: () => p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').updateRule('cascade'),
    entityType: p.enum(RECORD_TYPES),
    name: p.string().length(100),
    filters: p.json<Record<string, string>>(),
    isShared: p.boolean().default(false),
  },
  indexes: [{ properties: ['tenantId', 'entityType', 'userId'] }],
});
export type SavedView = InferEntity<typeof SavedViewSchema>;
