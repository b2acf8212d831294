import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ConversationSchema } from './conversation.entity.ts';
import { MessagingAccountSchema } from './messaging-account.entity.ts';
import { TenantSchema } from './tenant.entity.ts';
import { tenantOwned, timestamps } from './tenant-owned.ts';

/** A messaging account's chatbot: its rules (tried in order) and opening hours (contracts/messaging-bot.ts). */
export const MessagingBotSchema = defineEntity({
  name: 'MessagingBot',
  tableName: 'messaging_bots',
  properties: {
    ...tenantOwned,
    accountId: () =>
      p
        .manyToOne(MessagingAccountSchema)
        .mapToPk()
        .fieldName('account_id')
        .unique()
        .deleteRule('cascade')
        .updateRule('cascade'),
    enabled: p.boolean().default(true),
    rules: p
      .json<Record<string, unknown>[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    hours: p.json<Record<string, unknown>>().nullable(),
    ...timestamps,
  },
});
export type MessagingBot = InferEntity<typeof MessagingBotSchema>;

/** Where the bot is in one conversation: `bot` while it holds it (with what it asked), `open` once handed over. */
export const ConversationBotSchema = defineEntity({
  name: 'ConversationBot',
  tableName: 'conversation_bots',
  properties: {
    conversationId: () =>
      p
        .oneToOne(ConversationSchema)
        .primary()
        .mapToPk()
        .fieldName('conversation_id')
        .deleteRule('cascade')
        .updateRule('cascade'),
    tenantId: () =>
      p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').deleteRule('cascade').updateRule('cascade'),
    status: p.string().length(10).default('bot'),
    state: p.json<Record<string, unknown>>().nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date())
      .defaultRaw('now()'),
  },
  indexes: [{ properties: ['tenantId', 'status'] }],
});
export type ConversationBot = InferEntity<typeof ConversationBotSchema>;
