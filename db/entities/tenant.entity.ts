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
    /** ISO 4217: what amounts are in when none is given, and what pipeline totals convert to for display. */
    currency: p.string().length(3).default('EUR'),
    /** IANA zone: "today", business hours and all-day due dates are in it. */
    timeZone: p.string().length(64).default('Europe/Rome'),
    /** `{ days: [1..7] (Monday = 1), start: 'HH:MM', end: 'HH:MM' }`; null = not set. */
    businessHours: p.json<Record<string, unknown>>().nullable(),
    /** The blob key of the workspace's logo, when one was uploaded. */
    logoKey: p.string().length(255).nullable(),
  },
  // Every new workspace gets the default pipeline stages, however it is created (migration 20261207050000).
  triggers: [
    {
      name: 'tenants_pipeline_stages',
      timing: 'after' as const,
      events: ['insert' as const],
      forEach: 'row' as const,
      expression: `create trigger tenants_pipeline_stages after insert on tenants for each row execute function filo_seed_pipeline_stages()`,
    },
  ],
});
export type Tenant = InferEntity<typeof TenantSchema>;
