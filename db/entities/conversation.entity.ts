import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CompanySchema } from './company.entity.ts';
import { ContactSchema } from './contact.entity.ts';
import { MailboxSchema } from './mailbox.entity.ts';
import { CHANNELS } from '#contracts/common';
import { CONVERSATION_STATUSES } from '#contracts/inbox';
import { tenantOwned, timestamps, userRef } from './tenant-owned.ts';

export { CONVERSATION_STATUSES };

/** A thread of email in a mailbox, linked to the customer it is with. */
export const ConversationSchema = defineEntity({
  name: 'Conversation',
  tableName: 'conversations',
  properties: {
    ...tenantOwned,
    /** What it runs on: email today; the same conversation, workflow and timeline for the channels to come. */
    channel: p.enum(CHANNELS).default('email'),
    mailboxId: () =>
      p.manyToOne(MailboxSchema).mapToPk().fieldName('mailbox_id').deleteRule('cascade').updateRule('cascade'),
    subject: p.string().length(998),
    /** Lower-cased, without Re:/Fwd:/[tags], whitespace collapsed: the key of subject threading. */
    normalizedSubject: p.string().length(998),
    status: p.enum(CONVERSATION_STATUSES).default('open'),
    assigneeId: () => userRef('assignee_id'),
    tags: p.array().defaultRaw(`'{}'`),
    /** Every address seen in the thread (lower-cased), for subject + participants threading. */
    participants: p.array().defaultRaw(`'{}'`),
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
    messageCount: p.integer().default(0),
    lastMessageAt: p.datetime(),
    snoozedUntil: p.datetime().nullable(),
    /** A thread this one may continue: it referenced or shared its subject, but with nobody in common. */
    relatedConversationId: () =>
      p
        .manyToOne(ConversationSchema)
        .mapToPk()
        .fieldName('related_conversation_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    ...timestamps,
    /** The ORM's version: bumped by every flush that changes the row; a stale write fails instead of landing. */
    version: p.integer().version().default(1),
  },
  indexes: [
    { properties: ['tenantId', 'mailboxId', 'lastMessageAt'] },
    // threading by subject: a mailbox's recent conversations with this subject (every column an index condition)
    {
      name: 'conversations_subject_thread_index',
      properties: ['tenantId', 'mailboxId', 'normalizedSubject', 'lastMessageAt'],
    },
    { properties: ['tenantId', 'contactId'] },
    { properties: ['tenantId', 'assigneeId', 'lastMessageAt'] },
    {
      name: 'conversations_snoozed_until_index',
      expression: `create index "conversations_snoozed_until_index" on "conversations" ("snoozed_until") where "status" = 'snoozed'`,
    },
  ],
});
export type Conversation = InferEntity<typeof ConversationSchema>;
