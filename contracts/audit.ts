import { z } from './zod.ts';
import { isoDate, page, uuid } from './common.ts';

/** The audit log (issue 21): security-relevant actions, append-only and hash-chained per workspace. */

export const AUDIT_ACTIONS = [
  'auth.sign_in',
  'auth.sign_in_failed',
  'auth.sign_out',
  'auth.password_changed',
  'auth.password_reset',
  'member.role_changed',
  'member.removed',
  'member.joined',
  'invitation.sent',
  'invitation.resent',
  'invitation.revoked',
  'invitation.accepted',
  'token.created',
  'token.used',
  'token.revoked',
  'token.updated',
  'export.crm_csv',
  'export.gdpr',
  'export.audit_csv',
  'contact.erased',
  'record.deleted',
  'workspace.updated',
  'retention.updated',
  'mailbox.created',
  'mailbox.updated',
  'mailbox.deleted',
  'email_account.created',
  'email_account.updated',
  'email_account.deleted',
  'messaging_account.created',
  'messaging_account.updated',
  'messaging_account.deleted',
  'sending_domain.added',
  'sending_domain.removed',
  'pipeline.updated',
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'retention.purged',
] as const;
export const auditAction = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof auditAction>;

export const ACTOR_KINDS = ['user', 'token', 'system'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

export const auditEntry = z.object({
  id: uuid,
  seq: z.number().int(),
  at: isoDate,
  actorId: uuid.nullable(),
  /** The member's name today (null for Filo itself, a removed user, or a failed sign-in). */
  actorName: z.string().nullable(),
  actorKind: z.enum(ACTOR_KINDS),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  action: auditAction,
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  summary: z.string(),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEntry = z.infer<typeof auditEntry>;
export const auditPage = page(auditEntry);

const day = z.iso.date().or(z.iso.datetime({ offset: true }));
export const auditQuery = z
  .object({
    action: auditAction.optional(),
    actor: z.uuid().optional(),
    target: z.string().trim().min(1).max(100).optional(),
    from: day.optional(),
    to: day.optional(),
    cursor: z
      .string()
      .regex(/^\d{1,18}$/, 'not a cursor of this list')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).optional(),
  })
  .strict();
export type AuditQuery = z.infer<typeof auditQuery>;

/** How long a workspace keeps raw inbound files, tracking events and audit entries, in days. */
export const retentionSettings = z.object({
  spoolDays: z.number().int().min(1).max(3650),
  trackingDays: z.number().int().min(1).max(3650),
  auditDays: z.number().int().min(30).max(3650),
});
export type RetentionSettings = z.infer<typeof retentionSettings>;
export const retentionPatch = retentionSettings.partial().strict();
export const RETENTION_DEFAULTS: RetentionSettings = { spoolDays: 90, trackingDays: 365, auditDays: 730 };
