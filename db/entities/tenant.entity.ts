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
  },
});
export type Tenant = InferEntity<typeof TenantSchema>;
