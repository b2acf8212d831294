import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CHANNELS } from '#contracts/common';
import { TEMPLATE_STATUSES } from '#contracts/messaging';
import { MessagingAccountSchema } from './messaging-account.entity.ts';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/**
 * A message template of one channel. WhatsApp ones mirror the templates approved at the provider (name, language,
 * category, variables, and the provider's id: Twilio's Content SID), which are the only messages allowed outside
 * the 24-hour window.
 */
export const MessageTemplateSchema = defineEntity({
  name: 'MessageTemplate',
  tableName: 'message_templates',
  properties: {
    ...tenantOwned,
    channel: p.enum(CHANNELS),
    accountId: () =>
      p
        .manyToOne(MessagingAccountSchema)
        .mapToPk()
        .fieldName('account_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    name: p.string().length(100),
    language: p.string().length(20).default('en'),
    category: p.string().length(40).nullable(),
    body: p.text(),
    variables: p.array().defaultRaw(`'{}'`),
    providerTemplateId: p.string().length(100).nullable(),
    status: p.enum(TEMPLATE_STATUSES).default('approved'),
    createdBy: () => userRef('created_by'),
    ...timestamps,
    version: versioned(),
  },
  uniques: [{ properties: ['tenantId', 'channel', 'name', 'language'] }],
});
export type MessageTemplate = InferEntity<typeof MessageTemplateSchema>;
