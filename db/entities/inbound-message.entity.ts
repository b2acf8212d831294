import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { INBOUND_STATUSES, MESSAGE_CLASSES } from '#contracts/inbox';
import { EmailAccountFolderSchema } from './email-account-folder.entity.ts';
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
    /** Null while a fetched message's body is still only at its provider. */
    sha256: p.string().length(64).nullable(),
    /** The raw message in blob storage (`spool/...`), kept after processing; null until fetched (IMAP). */
    spoolKey: p.text().nullable(),
    status: p.enum(INBOUND_STATUSES).default('received'),
    error: p.text().nullable(),
    attempts: p.integer().default(0),
    processedAt: p.datetime().nullable(),
    /** What processing found: a customer message, a bounce (DSN) or an auto-reply (never threaded as mail). */
    classification: p.enum(MESSAGE_CLASSES).nullable(),
    /** For bounces and auto-replies: status, recipients, reason; for failures: the parse problems. */
    details: p
      .json<Record<string, unknown>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    emailMessageId: p.uuid().nullable(),
    /** Fetched from a member's account over IMAP: where (unique per folder, UIDVALIDITY and UID). */
    accountId: p.uuid().nullable(),
    folderId: () =>
      p
        .manyToOne(EmailAccountFolderSchema)
        .mapToPk()
        .fieldName('folder_id')
        .nullable()
        .deleteRule('cascade')
        .updateRule('cascade'),
    imapUidValidity: p.bigint('number').nullable(),
    imapUid: p.bigint('number').nullable(),
    /** The flags at the provider as last seen (CONDSTORE), and when another client expunged it. */
    imapFlags: p.array().nullable(),
    imapModseq: p.bigint('string').nullable(),
    imapExpungedAt: p.datetime().nullable(),
    /** Message-ID (without brackets), known from the headers before the body is fetched. */
    messageIdHeader: p.string().length(998).nullable(),
  },
  indexes: [
    { properties: ['tenantId', 'mailboxId', 'createdAt'] },
    { properties: ['status', 'createdAt'] },
    {
      name: 'inbound_messages_imap_uid_unique',
      expression: `create unique index "inbound_messages_imap_uid_unique" on "inbound_messages" ("folder_id", "imap_uid_validity", "imap_uid") where "folder_id" is not null`,
    },
    {
      name: 'inbound_messages_message_id_header_index',
      expression: `create index "inbound_messages_message_id_header_index" on "inbound_messages" ("tenant_id", "message_id_header") where "message_id_header" is not null`,
    },
  ],
});
export type InboundMessage = InferEntity<typeof InboundMessageSchema>;
