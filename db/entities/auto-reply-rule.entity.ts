import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { MailboxSchema } from './mailbox.entity.ts';
import { tenantOwned, timestamps, versioned } from './tenant-owned.ts';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Business hours: an IANA time zone and, per weekday, when the team is in (`HH:MM`); a missing day is closed. */
export interface BusinessHours {
  timeZone: string;
  days: Partial<Record<Weekday, { open: string; close: string } | null>>;
}

/** Every condition that is set must hold; a rule without conditions matches every customer message. */
export interface RuleConditions {
  /** Sender addresses (`ana@acme.com`) or domains (`acme.com`), any of them. */
  from?: string[];
  /** Words the subject contains (case-insensitive), any of them. */
  subjectContains?: string[];
  /** Matches when the message arrives outside these hours. */
  outsideHours?: BusinessHours;
}

export interface RuleActions {
  /** Answer the sender with this template (at most once per sender per mailbox per 24 h). */
  autoReplyTemplateId?: string;
  assigneeId?: string;
  tags?: string[];
  status?: 'open' | 'pending' | 'closed';
}

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
    conditions: p.json<RuleConditions>().default('{}'),
    actions: p.json<RuleActions>().default('{}'),
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
