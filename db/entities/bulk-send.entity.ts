import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CONSENT_CHANNELS } from '#contracts/consent';
import { SEND_SOURCES, SEND_STATUSES } from '#contracts/delivery';
import { ContactSchema } from './contact.entity.ts';
import { TenantSchema } from './tenant.entity.ts';

/**
 * One recipient of a bulk source (a campaign, a sequence step, a bulk message): the shared delivery engine's unit
 * of work. Rows are claimed in batches (`for update skip locked`) and marked one by one; `messageId` is fixed when
 * the row is made, so a message sent again after a crash carries the same Message-ID.
 */
export const BulkSendSchema = defineEntity({
  name: 'BulkSend',
  tableName: 'bulk_sends',
  properties: {
    id: p.uuid().primary(),
    tenantId: () =>
      p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').deleteRule('cascade').updateRule('cascade'),
    createdAt: p
      .datetime()
      .onCreate(() => new Date())
      .defaultRaw('now()'),
    source: p.enum(SEND_SOURCES),
    sourceId: p.uuid(),
    contactId: () =>
      p
        .manyToOne(ContactSchema)
        .mapToPk()
        .fieldName('contact_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    channel: p.enum(CONSENT_CHANNELS).default('email'),
    /** Where it goes; null once the contact is erased. */
    address: p.string().length(320).nullable(),
    variant: p.string().length(8).nullable(),
    status: p.enum(SEND_STATUSES).default('pending'),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime().defaultRaw('now()'),
    lastResponse: p.text().nullable(),
    messageId: p.string().length(998),
    transport: p.string().length(20).nullable(),
    /** The mailbox this row goes out from when it is not the source's (a sequence's prospect pinned to one of a pool). */
    mailboxId: p.uuid().nullable(),
    sentAt: p.datetime().nullable(),
    openedAt: p.datetime().nullable(),
    clickedAt: p.datetime().nullable(),
    repliedAt: p.datetime().nullable(),
    bouncedAt: p.datetime().nullable(),
    complainedAt: p.datetime().nullable(),
    unsubscribedAt: p.datetime().nullable(),
  },
  uniques: [{ name: 'bulk_sends_recipient_unique', properties: ['tenantId', 'source', 'sourceId', 'contactId'] }],
  indexes: [
    { properties: ['tenantId', 'source', 'sourceId', 'status'] },
    { properties: ['tenantId', 'contactId'] },
    { properties: ['tenantId', 'messageId'] },
    {
      name: 'bulk_sends_due_index',
      expression: `create index "bulk_sends_due_index" on "bulk_sends" ("tenant_id", "source", "source_id", "next_attempt_at") where "status" in ('pending', 'deferred')`,
    },
    {
      name: 'bulk_sends_mailbox_slot_index',
      expression: `create index "bulk_sends_mailbox_slot_index" on "bulk_sends" ("tenant_id", "mailbox_id", "next_attempt_at") where "mailbox_id" is not null`,
    },
  ],
});
export type BulkSend = InferEntity<typeof BulkSendSchema>;
