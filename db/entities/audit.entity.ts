import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ACTOR_KINDS } from '#contracts/audit';
import { TenantSchema } from './tenant.entity.ts';

const tenantRef = () =>
  p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').deleteRule('cascade').updateRule('cascade');

/**
 * One security-relevant action (issue 21), append-only: the application role may only insert, and a trigger refuses
 * every UPDATE and DELETE but the retention purge's and a whole workspace's removal. `hash` chains it to the
 * previous entry of its workspace (server/audit/chain.ts).
 */
export const AuditEntrySchema = defineEntity({
  name: 'AuditEntry',
  tableName: 'audit_entries',
  properties: {
    id: p.uuid().primary(),
    tenantId: tenantRef,
    seq: p.bigint('number'),
    at: p.datetime(),
    /** No foreign key: the entry outlives the user, and clearing the link would rewrite history. */
    actorId: p.uuid().nullable(),
    actorKind: p.enum(ACTOR_KINDS),
    ip: p.string().length(64).nullable(),
    userAgent: p.string().length(500).nullable(),
    action: p.string().length(64),
    targetType: p.string().length(40).nullable(),
    targetId: p.string().length(100).nullable(),
    summary: p.text(),
    before: p.json<Record<string, unknown>>().nullable(),
    after: p.json<Record<string, unknown>>().nullable(),
    prevHash: p.string().length(64),
    hash: p.string().length(64),
  },
  uniques: [{ properties: ['tenantId', 'seq'] }],
  indexes: [
    { properties: ['tenantId', 'action', 'seq'] },
    { properties: ['tenantId', 'actorId', 'seq'] },
    { properties: ['tenantId', 'targetId', 'seq'] },
    { properties: ['tenantId', 'at'] },
  ],
  triggers: [
    {
      name: 'audit_entries_append_only',
      timing: 'before' as const,
      events: ['update' as const, 'delete' as const],
      forEach: 'row' as const,
      expression: `create trigger audit_entries_append_only before update or delete on audit_entries for each row execute function filo_audit_append_only()`,
    },
  ],
});
export type AuditEntry = InferEntity<typeof AuditEntrySchema>;

/** The head of a workspace's chain (locked by each append), and the anchor the retention purge left. */
export const AuditChainSchema = defineEntity({
  name: 'AuditChain',
  tableName: 'audit_chains',
  properties: {
    tenantId: () => tenantRef().primary(),
    seq: p.bigint('number').default(0),
    hash: p.string().length(64).default('0'.repeat(64)),
    /** The last purged entry: the first kept one must follow it. */
    anchorSeq: p.bigint('number').default(0),
    anchorHash: p.string().length(64).default('0'.repeat(64)),
  },
});

/** How long a workspace keeps raw inbound files, tracking events and audit entries; no row = the defaults. */
export const RetentionSettingsSchema = defineEntity({
  name: 'RetentionSettings',
  tableName: 'retention_settings',
  properties: {
    tenantId: () => tenantRef().primary(),
    spoolDays: p.integer().default(90),
    trackingDays: p.integer().default(365),
    auditDays: p.integer().default(730),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
