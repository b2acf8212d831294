import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { MessagingAccountSchema } from './messaging-account.entity.ts';
import { MessageTemplateSchema } from './message-template.entity.ts';
import { tenantOwned, timestamps, userRef } from './tenant-owned.ts';

/**
 * A bulk message: a text or template on one channel of a messaging account to the contacts of lists or segments.
 * Its send rows and counters belong to the shared delivery engine (`bulk_sends`, source `bulk_message`); each row's
 * message in the account's inbox has the row's id.
 */
export const MessageBulkSchema = defineEntity({
  name: 'MessageBulk',
  tableName: 'message_bulks',
  properties: {
    ...tenantOwned,
    name: p.string().length(200),
    accountId: () =>
      p.manyToOne(MessagingAccountSchema).mapToPk().fieldName('account_id').deleteRule('cascade').updateRule('cascade'),
    channel: p.string().length(20),
    listIds: p
      .json<string[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    text: p.text().nullable(),
    templateId: () =>
      p
        .manyToOne(MessageTemplateSchema)
        .mapToPk()
        .fieldName('template_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    variables: p
      .json<Record<string, string>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    ratePerMinute: p.integer().default(60),
    state: p.string().length(20).default('draft'),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    createdBy: () => userRef('created_by'),
    ...timestamps,
  },
  indexes: [{ properties: ['tenantId', 'createdAt'] }],
});
export type MessageBulk = InferEntity<typeof MessageBulkSchema>;
