import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { TenantSchema } from './tenant.entity.ts';
import { MessageSchema, type EmailAddress } from './message.entity.ts';

/**
 * How an outbound `messages` row is delivered (same id): what the message row does not show (Bcc), and
 * each attempt's outcome. The send job reads and updates it.
 */
export const OutboundDeliverySchema = defineEntity({
  name: 'OutboundDelivery',
  tableName: 'outbound_deliveries',
  properties: {
    /** The id of the outbound email message (a foreign key to it, checked at commit). */
    id: () =>
      p
        .oneToOne(MessageSchema)
        .primary()
        .mapToPk()
        .fieldName('id')
        .deleteRule('cascade')
        .updateRule('cascade')
        .deferMode('deferred'),
    tenantId: () =>
      p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').deleteRule('cascade').updateRule('cascade'),
    bcc: p
      .json<EmailAddress[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    replyTo: p.string().length(320).nullable(),
    attempts: p.integer().default(0),
    lastAttemptAt: p.datetime().nullable(),
    /** The server's last answer (accepted or refused). */
    response: p.text().nullable(),
    /** mailbox (its own SMTP server) | account (a member's account) | relay (SMTP_RELAY_URL) | outbox (kept, not sent). */
    transport: p.string().length(20).nullable(),
    templateId: p.uuid().nullable(),
    /** The member's email account whose SMTP server sends it; null: the mailbox's transport (or the relay). */
    accountId: p.uuid().nullable(),
    /** Where the copy of the sent bytes was filed in the account's Sent folder (UID when the server says APPENDUID). */
    sentCopyFolder: p.string().length(1000).nullable(),
    sentCopyUidValidity: p.bigint('number').nullable(),
    sentCopyUid: p.bigint('number').nullable(),
    /** Extra header fields of the message (an auto-reply's `Auto-Submitted`). */
    headers: p
      .json<Record<string, string>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    createdAt: p
      .datetime()
      .onCreate(() => new Date())
      .defaultRaw('now()'),
  },
});
export type OutboundDelivery = InferEntity<typeof OutboundDeliverySchema>;
