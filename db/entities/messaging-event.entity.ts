import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { MessagingAccountSchema } from './messaging-account.entity.ts';
import { tenantOwned } from './tenant-owned.ts';

export const MESSAGING_EVENT_STATUSES = ['received', 'processed', 'ignored', 'failed'] as const;

/**
 * A provider's webhook as it arrived, stored before Filo answers it: a job turns it into messages and status moves
 * once. The provider's event id (Twilio MessageSid[:status], Telegram update_id…) is unique per account, so a
 * delivery the provider repeats is stored, and processed, once.
 */
export const MessagingEventSchema = defineEntity({
  name: 'MessagingEvent',
  tableName: 'messaging_events',
  properties: {
    ...tenantOwned,
    accountId: () =>
      p.manyToOne(MessagingAccountSchema).mapToPk().fieldName('account_id').deleteRule('cascade').updateRule('cascade'),
    providerEventId: p.string().length(255),
    payload: p.json<unknown>(),
    status: p.enum(MESSAGING_EVENT_STATUSES).default('received'),
    attempts: p.integer().default(0),
    error: p.text().nullable(),
    processedAt: p.datetime().nullable(),
  },
  uniques: [{ properties: ['accountId', 'providerEventId'] }],
  indexes: [
    { properties: ['tenantId', 'accountId', 'createdAt'] },
    {
      name: 'messaging_events_received_index',
      expression: `create index "messaging_events_received_index" on "messaging_events" ("created_at") where "status" = 'received'`,
    },
  ],
});
export type MessagingEvent = InferEntity<typeof MessagingEventSchema>;
