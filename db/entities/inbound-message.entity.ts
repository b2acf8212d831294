import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { INBOUND_STATUSES, MESSAGE_CLASSES } from '#contracts/inbox';
import { MailboxSchema } from './mailbox.entity.ts';
import { tenantOwned } from './tenant-owned.ts';

export { INBOUND_STATUSES };

/**
 * A message the gateway accepted for one mailbox: committed (with the spool file fsync'd) before the 250,
 * so it survives any crash. Processing turns it into an email message exactly once.
 */
export const InboundMessageSchema = defineEntity({
  name: 'InboundMessage',
  tableName: 'inbound_messages',
  properties: {
    ...tenantOwned,
    mailboxId: () =>
      p.manyToOne(MailboxSchema).mapToPk().fieldName('mailbox_id').deleteRule('cascade').updateRule('cascade'),
    mailFrom: p.string().length(320).nullable(),
    rcptTo: p.array(),
    remoteAddress: p.string().length(64).nullable(),
    heloName: p.string().length(255).nullable(),
    size: p.integer(),
    sha256: p.string().length(64),
    /** The raw message in blob storage (`spool/...`), kept after processing. */
    spoolKey: p.text(),
    status: p.enum(INBOUND_STATUSES).default('received'),
    error: p.text().nullable(),
    attempts: p.integer().default(0),
    processedAt: p.datetime().nullable(),
    /** What processing found: a customer message, a bounce (DSN) or an auto-reply (never threaded as mail). */
    classification: p.enum(MESSAGE_CLASSES).nullable(),
    /** For bounces and auto-replies: status, recipients, reason; for failures: the parse problems. */
    details: p.json<Record<string, unknown>>().default('{}'),
    emailMessageId: p.uuid().nullable(),
  },
  indexes: [{ properties: ['tenantId', 'mailboxId', 'createdAt'] }, { properties: ['status', 'createdAt'] }],
});
export type InboundMessage = InferEntity<typeof InboundMessageSchema>;
