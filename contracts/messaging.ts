import { z } from './zod.ts';
import { channel, isoDate, uuid, type Channel } from './common.ts';

/**
 * Messaging (issue 19): accounts at SMS / WhatsApp / Telegram / Discord providers, message templates per channel,
 * and sending on a messaging conversation. Each account owns a mailbox of kind `messaging`: its conversations are
 * in the same inbox as email (contracts/inbox.ts), with the same visibility and live events.
 */

/** The providers behind the one interface of server/messaging/providers/types.ts. */
export const MESSAGING_PROVIDERS = ['twilio', 'vonage', 'telegram', 'discord'] as const;
export const messagingProvider = z.enum(MESSAGING_PROVIDERS);
export type MessagingProvider = z.infer<typeof messagingProvider>;

/** The channels messaging accounts serve (every channel but email). */
export const MESSAGING_CHANNELS = ['sms', 'whatsapp', 'telegram', 'discord'] as const satisfies readonly Channel[];
export const messagingChannel = z.enum(MESSAGING_CHANNELS);
export type MessagingChannel = z.infer<typeof messagingChannel>;

/**
 * Where an outgoing message is: queued (ours or the provider's), sent (to the carrier), delivered, read; or given up
 * (failed: refused; undelivered: the carrier could not deliver). It only ever moves forward (`statusAdvances`).
 */
export const MESSAGING_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed', 'undelivered'] as const;
export type MessagingStatus = (typeof MESSAGING_STATUSES)[number];
const RANK: Record<MessagingStatus, number> = {
  queued: 0,
  sent: 1,
  delivered: 2,
  undelivered: 2,
  failed: 2,
  read: 3,
};
/** Whether a message in `from` may move to `to`: forward only; failed and undelivered are final. */
export function statusAdvances(from: string | null | undefined, to: MessagingStatus): boolean {
  if (from === 'failed' || from === 'undelivered') return false;
  const current = RANK[(from ?? 'queued') as MessagingStatus] ?? 0;
  return RANK[to] > current;
}

// ---- Accounts

/** Twilio's secrets: the account SID and auth token (never returned). */
export const twilioCredentials = z
  .object({
    accountSid: z
      .string()
      .trim()
      .regex(/^AC[0-9a-fA-F]{32}$/, 'must be an account SID (AC followed by 32 hex digits)'),
    authToken: z.string().trim().min(16).max(128),
  })
  .strict();
const e164 = z
  .string()
  .trim()
  .regex(/^\+[1-9]\d{6,14}$/, 'must be a number in international format, e.g. +393331234567');
/** Twilio's public settings: SMS numbers and/or a messaging service, and the WhatsApp sender. */
export const twilioSettings = z
  .object({
    smsNumbers: z.array(e164).max(20).default([]),
    messagingServiceSid: z
      .string()
      .trim()
      .regex(/^MG[0-9a-fA-F]{32}$/, 'must be a messaging service SID (MG…)')
      .nullable()
      .default(null),
    whatsappSender: e164.nullable().default(null),
  })
  .strict();
export type TwilioSettings = z.infer<typeof twilioSettings>;

/** A new account: the provider's own `credentials` and `settings` are checked by the provider's schemas. */
export const messagingAccountInput = z
  .object({
    provider: messagingProvider,
    name: z.string().trim().min(1).max(100),
    credentials: z.record(z.string(), z.string().max(2000)),
    settings: z.record(z.string(), z.unknown()).default({}),
    /** Unknown senders become contacts. */
    createContacts: z.boolean().default(true),
    /** Who sees its conversations; empty for the whole team. */
    memberIds: z.array(uuid).max(200).default([]),
  })
  .strict();
export type MessagingAccountInput = z.input<typeof messagingAccountInput>;

/** A change: absent fields stay; `credentials` replaces the stored ones entirely. */
export const messagingAccountPatch = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    credentials: z.record(z.string(), z.string().max(2000)).optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
    createContacts: z.boolean().optional(),
    memberIds: z.array(uuid).max(200).optional(),
    enabled: z.boolean().optional(),
    version: z.number().int(),
  })
  .strict();
export type MessagingAccountPatch = z.input<typeof messagingAccountPatch>;

export const messagingAccount = z.object({
  id: uuid,
  provider: messagingProvider,
  name: z.string(),
  /** The channels it sends and receives on (from its settings). */
  channels: z.array(messagingChannel),
  /** The mailbox its conversations are in. */
  mailboxId: uuid,
  settings: z.record(z.string(), z.unknown()),
  /** Secrets are write-only: only whether they are stored. */
  hasCredentials: z.boolean(),
  createContacts: z.boolean(),
  memberIds: z.array(uuid),
  enabled: z.boolean(),
  lastError: z.string().nullable(),
  lastErrorAt: isoDate.nullable(),
  /** The URLs to give the provider (inbound messages, status callbacks). */
  webhooks: z.record(z.string(), z.string()),
  createdAt: isoDate,
  version: z.number(),
});
export type MessagingAccount = z.infer<typeof messagingAccount>;
export const messagingAccountList = z.object({ items: z.array(messagingAccount) });

// ---- Templates

/** A template's variables are `{{1}}`, `{{2}}` (WhatsApp) or `{{name}}`. */
export const TEMPLATE_VARIABLE = /\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g;
export const TEMPLATE_CATEGORIES = ['marketing', 'utility', 'authentication'] as const;
export const TEMPLATE_STATUSES = ['draft', 'pending', 'approved', 'rejected'] as const;

export const messageTemplateInput = z
  .object({
    channel: messagingChannel,
    /** The account it belongs to (WhatsApp: the sender it was approved for); null: any account of the channel. */
    accountId: uuid.nullable().default(null),
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[\w\- .]+$/, 'letters, digits, spaces, _ - . only'),
    language: z
      .string()
      .trim()
      .regex(/^[a-z]{2,3}([_-][A-Za-z]{2,4})?$/, 'must be a language code, e.g. it or en_US')
      .default('en'),
    category: z.enum(TEMPLATE_CATEGORIES).nullable().default(null),
    body: z.string().trim().min(1).max(4096),
    /** The provider's id of the approved template (Twilio Content SID, HX…). */
    providerTemplateId: z.string().trim().max(100).nullable().default(null),
    status: z.enum(TEMPLATE_STATUSES).default('approved'),
  })
  .strict();
export type MessageTemplateInput = z.input<typeof messageTemplateInput>;

export const messageTemplate = z.object({
  id: uuid,
  channel: messagingChannel,
  accountId: uuid.nullable(),
  name: z.string(),
  language: z.string(),
  category: z.enum(TEMPLATE_CATEGORIES).nullable(),
  body: z.string(),
  /** The variables its body names, in order of first use. */
  variables: z.array(z.string()),
  providerTemplateId: z.string().nullable(),
  status: z.enum(TEMPLATE_STATUSES),
  createdAt: isoDate,
  version: z.number(),
});
export type MessageTemplate = z.infer<typeof messageTemplate>;
export const messageTemplateList = z.object({ items: z.array(messageTemplate) });

/** The variables a template body names, each once, in order of first use. */
export function templateVariables(body: string): string[] {
  return [...new Set([...body.matchAll(TEMPLATE_VARIABLE)].map((m) => m[1]!))];
}

// ---- Sending

/** A message on a messaging conversation (a reply), or a new one to a contact on one account. */
export const sendMessageInput = z
  .object({
    /** Reply in this conversation (its account and party). */
    conversationId: uuid.optional(),
    /** Or start one: the account, the channel, and the recipient (E.164 number, chat id). */
    accountId: uuid.optional(),
    channel: messagingChannel.optional(),
    to: z.string().trim().min(1).max(320).optional(),
    contactId: uuid.optional(),
    text: z.string().trim().min(1).max(4096).optional(),
    template: z
      .object({
        templateId: uuid,
        variables: z.record(z.string(), z.string().max(1000)).default({}),
      })
      .optional(),
  })
  .strict()
  .refine((v) => Boolean(v.text) !== Boolean(v.template), { message: 'give either text or a template' })
  .refine((v) => Boolean(v.conversationId) || Boolean(v.accountId && v.channel && v.to), {
    message: 'give a conversation, or an account, a channel and a recipient',
  });
export type SendMessageInput = z.input<typeof sendMessageInput>;

/** The message queued: its id, conversation and status (the ticks follow on `record:updated`). */
export const sentMessage = z.object({
  id: uuid,
  conversationId: uuid,
  status: z.enum(MESSAGING_STATUSES),
});

/** What the composer needs for a messaging conversation: the account, party and the WhatsApp window. */
export const composeContext = z.object({
  conversationId: uuid,
  accountId: uuid.nullable(),
  channel,
  to: z.string().nullable(),
  /** WhatsApp: free text is allowed until `closesAt` (24 h after the party's last message); else only templates. */
  window: z.object({ open: z.boolean(), closesAt: isoDate.nullable() }).nullable(),
  templates: z.array(messageTemplate),
});
export type ComposeContext = z.infer<typeof composeContext>;
