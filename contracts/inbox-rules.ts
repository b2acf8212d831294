import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';

/** What decides about a mailbox's incoming mail: its auto-reply rules, and the workspace's blocklist. */

// ---- Auto-reply rules

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const dayHours = z.object({ open: z.string(), close: z.string() }).nullable();

/** Business hours: an IANA time zone and, per weekday, when the team is in (`HH:MM`); a missing day is closed. */
export const businessHours = z.object({
  timeZone: z.string(),
  days: z.partialRecord(z.enum(WEEKDAYS), dayHours),
});
export type BusinessHours = z.infer<typeof businessHours>;

/** Every condition that is set must hold; a rule without conditions matches every customer message. */
export const ruleConditions = z.object({
  /** Sender addresses (`ana@acme.com`) or domains (`acme.com`), any of them. */
  from: z.array(z.string()).optional(),
  /** Words the subject contains (case-insensitive), any of them. */
  subjectContains: z.array(z.string()).optional(),
  /** Matches when the message arrives outside these hours. */
  outsideHours: businessHours.optional(),
});
export type RuleConditions = z.infer<typeof ruleConditions>;

/** The statuses a rule may set (snoozing needs a time). */
export const RULE_STATUSES = ['open', 'pending', 'closed'] as const;
export type RuleStatus = (typeof RULE_STATUSES)[number];

export const ruleActions = z.object({
  /** Answer the sender with this template (at most once per sender per mailbox per 24 h). */
  autoReplyTemplateId: uuid.optional(),
  assigneeId: uuid.optional(),
  tags: z.array(z.string()).optional(),
  status: z.enum(RULE_STATUSES).optional(),
});
export type RuleActions = z.infer<typeof ruleActions>;

/** A rule of a mailbox, evaluated in position order on each customer message it receives. */
export const rule = z.object({
  id: uuid,
  mailboxId: uuid,
  name: z.string(),
  enabled: z.boolean(),
  position: z.number(),
  conditions: ruleConditions,
  actions: ruleActions,
  createdAt: isoDate,
  updatedAt: isoDate,
  version: z.number(),
});
export type Rule = z.infer<typeof rule>;
export const ruleList = z.object({ items: z.array(rule) });

// ---- Blocklist

/** `someone@example.com` or `@example.com` (the whole domain), lower-cased. */
export const blocklistPattern = z
  .string()
  .trim()
  .toLowerCase()
  .max(320)
  .regex(/^([^\s@"<>(),;:\\[\]]{1,64})?@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, {
    message: 'must be an address (name@example.com) or a domain (@example.com)',
  });
export const blocklistInput = z.object({ pattern: blocklistPattern }).strict();
export type BlocklistInput = z.infer<typeof blocklistInput>;

/** Senders (and, for mail a member sent, recipients) whose mail never enters the CRM: no contact, no timeline. */
export const blocklistEntry = z.object({
  id: uuid,
  pattern: z.string(),
  createdBy: uuid.nullable(),
  createdAt: isoDate,
});
export type BlocklistEntry = z.infer<typeof blocklistEntry>;
export const blocklistList = z.object({ items: z.array(blocklistEntry) });
