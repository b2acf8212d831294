import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { WEEKDAYS, type BusinessHours, type RuleActions, type RuleConditions, type Weekday } from '#contracts/inbox';
import { MailboxSchema } from './mailbox.entity.ts';
import { tenantOwned, timestamps, versioned } from './tenant-owned.ts';

export { WEEKDAYS };
export type { BusinessHours, RuleActions, RuleConditions, Weekday };

/** A rule of a mailbox, evaluated (in position order) on each customer message it receives. */
export const AutoReplyRuleSchema = defineEntity({
  name: 'AutoReplyRule',
  tableName: 'auto_reply_rules',
  properties: {
    ...tenantOwned,
    mailboxId: () =>
      p.manyToOne(MailboxSchema).mapToPk().fieldName('mailbox_id').deleteRule('cascade').updateRule('cascade'),
    name: p.string().length(100),
    enabled: p.boolean().default(true),
    position: p.integer().default(0),
    conditions: p
      .json<RuleConditions>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    actions: p
      .json<RuleActions>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    ...timestamps,
    version: versioned(),
  },
  indexes: [{ properties: ['tenantId', 'mailboxId', 'position'] }],
});
export type AutoReplyRule = InferEntity<typeof AutoReplyRuleSchema>;

/** The last auto-reply to a sender from a mailbox: one row per (mailbox, sender), claimed again after 24 h. */
export const AutoReplySentSchema = defineEntity({
  name: 'AutoReplySent',
  tableName: 'auto_replies_sent',
  properties: {
    ...tenantOwned,
    mailboxId: () =>
      p.manyToOne(MailboxSchema).mapToPk().fieldName('mailbox_id').deleteRule('cascade').updateRule('cascade'),
    /** The sender's address, lower-cased. */
    sender: p.string().length(320),
    sentAt: p.datetime(),
    ruleId: p.uuid().nullable(),
    emailMessageId: p.uuid().nullable(),
  },
  uniques: [{ properties: ['tenantId', 'mailboxId', 'sender'] }],
});
export type AutoReplySent = InferEntity<typeof AutoReplySentSchema>;
