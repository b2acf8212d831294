import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ConversationSchema } from './conversation.entity.ts';
import { UserSchema } from './user.entity.ts';
import { tenantOwned } from './tenant-owned.ts';

/** How far one user has read a conversation: a message created after `lastReadAt` is unread for them. */
export const ConversationReadSchema = defineEntity({
  name: 'ConversationRead',
  tableName: 'conversation_reads',
  properties: {
    ...tenantOwned,
    userId: () => p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').updateRule('cascade'),
    conversationId: () =>
      p
        .manyToOne(ConversationSchema)
        .mapToPk()
        .fieldName('conversation_id')
        .deleteRule('cascade')
        .updateRule('cascade'),
    lastReadAt: p.datetime(),
  },
  indexes: [{ properties: ['tenantId', 'conversationId'] }],
  uniques: [{ properties: ['tenantId', 'userId', 'conversationId'] }],
});
export type ConversationRead = InferEntity<typeof ConversationReadSchema>;
