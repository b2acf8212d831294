import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CHANNELS } from '#contracts/common';
import {
  MESSAGE_CLASSES,
  MESSAGE_DIRECTIONS,
  type AuthVerdicts,
  type EmailAddress,
  type StoredAttachment,
} from '#contracts/inbox';
import { CompanySchema } from './company.entity.ts';
import { ContactSchema } from './contact.entity.ts';
import { ConversationSchema } from './conversation.entity.ts';
import { MailboxSchema } from './mailbox.entity.ts';
import { MessagingAccountSchema } from './messaging-account.entity.ts';
import { tenantOwned, userRef } from './tenant-owned.ts';

/** The message's class (a person's message, a bounce, an auto-reply), as the contract names them. */
export const EMAIL_CLASSES = MESSAGE_CLASSES;
export type { AuthVerdicts, EmailAddress, StoredAttachment as EmailAttachment };

/** What only an email has: threading headers, recipients with display names, the sender's authentication. */
export interface EmailMeta {
  inReplyTo: string | null;
  references: string[];
  to: EmailAddress[];
  cc: EmailAddress[];
  auth: AuthVerdicts | null;
}

/** What only a messaging message has: the template it was sent from, and the provider's raw status. */
export interface MessagingMeta {
  templateId?: string | null;
  providerTemplateId?: string | null;
  variables?: Record<string, string>;
  providerStatus?: string | null;
  /** Inbound media as the provider links them (not fetched). */
  media?: { url: string; contentType: string | null }[];
  /** Send attempts made (a 429 or a temporary failure reschedules; never a second message). */
  attempts?: number;
}

/** A message's email fields, empty ones for a message of another channel (or written without them). */
export const emailOf = (m: { email?: Partial<EmailMeta> | null }): EmailMeta => ({
  inReplyTo: m.email?.inReplyTo ?? null,
  references: m.email?.references ?? [],
  to: m.email?.to ?? [],
  cc: m.email?.cc ?? [],
  auth: m.email?.auth ?? null,
});

/**
 * One message of a conversation, inbound or outbound, on any channel: a channel-neutral core (direction, author,
 * text/html, status, provider id, timestamps, attachments) and, beside it, what only its channel has (`email`).
 * Inbound email keeps its raw form in `inbound_messages`.
 */
export const MessageSchema = defineEntity({
  name: 'Message',
  tableName: 'messages',
  properties: {
    ...tenantOwned,
    channel: p.enum(CHANNELS).default('email'),
    conversationId: () =>
      p
        .manyToOne(ConversationSchema)
        .mapToPk()
        .fieldName('conversation_id')
        .deleteRule('cascade')
        .updateRule('cascade'),
    mailboxId: () =>
      p.manyToOne(MailboxSchema).mapToPk().fieldName('mailbox_id').deleteRule('cascade').updateRule('cascade'),
    inboundMessageId: p.uuid().nullable().unique(),
    direction: p.enum(MESSAGE_DIRECTIONS),
    classification: p.enum(EMAIL_CLASSES).default('message'),
    /** The provider's id of the message: for email its Message-ID header, without angle brackets (threading key). */
    messageIdHeader: p.string().length(998).nullable(),
    fromAddress: p.string().length(320).nullable(),
    fromName: p.string().length(255).nullable(),
    subject: p.string().length(998),
    text: p.text().nullable(),
    /** Sanitized HTML: no script, handler, form or remote load; remote images kept as `data-remote-src`. */
    html: p.text().nullable(),
    hasRemoteImages: p.boolean().default(false),
    sentAt: p.datetime().nullable(),
    /** Email only: In-Reply-To, References, To/Cc, authentication verdicts (see `emailOf`). */
    email: p.json<EmailMeta | null>().nullable(),
    attachments: p
      .json<StoredAttachment[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    /** What the reader should know about how it was read (codes: `duplicate_message_id`, `yenc`, `partial`, `html_replaced_by_text`, `tnef`). */
    notices: p.array().defaultRaw(`'{}'`),
    contactId: () =>
      p
        .manyToOne(ContactSchema)
        .mapToPk()
        .fieldName('contact_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    companyId: () =>
      p
        .manyToOne(CompanySchema)
        .mapToPk()
        .fieldName('company_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    /** Outbound only: queued | sending | sent | failed; messaging also delivered | read | undelivered. */
    status: p.string().length(20).nullable(),
    error: p.text().nullable(),
    /** Messaging: the account it came or went through (its provider id is `messageIdHeader`). */
    messagingAccountId: () =>
      p
        .manyToOne(MessagingAccountSchema)
        .mapToPk()
        .fieldName('messaging_account_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    /** Messaging outbound: the recipient (E.164 number, chat id). */
    toAddress: p.string().length(320).nullable(),
    /** Messaging: the provider's error code (Twilio 63016…); `error` says it in words. */
    errorCode: p.string().length(40).nullable(),
    /** When `status` last moved (the provider's time when it says). */
    statusAt: p.datetime().nullable(),
    /** Messaging only: the template sent and its variables, the provider's own status words. */
    messaging: p.json<MessagingMeta | null>().nullable(),
    sentBy: () => userRef('sent_by'),
    /** Tracking (outbound, opt-in per mailbox): human opens and clicks; machine ones are only in tracking_events. */
    openCount: p.integer().default(0),
    openedAt: p.datetime().nullable(),
    clickCount: p.integer().default(0),
    clickedAt: p.datetime().nullable(),
    /** The links rewritten to `/t/c/<token>` when sent, in token index order: a click goes only to one of these. */
    trackedLinks: p.json<string[] | null>().nullable(),
  },
  indexes: [
    { properties: ['tenantId', 'conversationId', 'createdAt'] },
    { properties: ['tenantId', 'messageIdHeader'] },
    {
      name: 'messages_provider_id_unique',
      expression: `create unique index "messages_provider_id_unique" on "messages" ("messaging_account_id", "message_id_header") where "messaging_account_id" is not null and "message_id_header" is not null`,
    },
    {
      name: 'messages_messaging_party_index',
      expression: `create index "messages_messaging_party_index" on "messages" ("tenant_id", "messaging_account_id", "from_address", "created_at") where "direction" = 'inbound' and "messaging_account_id" is not null`,
    },
    {
      name: 'messages_outbound_status_index',
      expression: `create index "messages_outbound_status_index" on "messages" ("status", "created_at") where "direction" = 'outbound'`,
    },
  ],
});
export type Message = InferEntity<typeof MessageSchema>;
