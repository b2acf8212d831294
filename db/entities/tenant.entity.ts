import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { baseProperties } from './base.ts';

/** A workspace: everything a team owns belongs to exactly one tenant. */
export const TenantSchema = defineEntity({
  name: 'Tenant',
  tableName: 'tenants',
  properties: {
    ...baseProperties,
    name: p.string().length(255),
    slug: p.string().length(63).unique(),
    /** Last timeline sequence number handed out; incremented under the row lock by every activity write. */
    activitySeq: p.bigint('number').default(0),
  },
});
export type Tenant = InferEntity<typeof TenantSchema>;
