import { z } from './zod.ts';
import { channel, isoDate, page, uuid } from './common.ts';
import { accountStatus } from './accounts.ts';

// What decides about incoming mail (auto-reply rules, the blocklist) lives in inbox-rules.ts; said here too.
export * from './inbox-rules.ts';

/**
 * The shared inbox as the API and the sockets send it: mailboxes, conversations, their messages and notes. Outgoing mail (replies, templates, signatures, sending domains) is in outbound.ts.
 */

export const CONVERSATION_STATUSES = ['open', 'pending', 'closed', 'snoozed'] as const;
export const conversationStatus = z.enum(CONVERSATION_STATUSES);
export type ConversationStatus = z.infer<typeof conversationStatus>;

export const MESSAGE_DIRECTIONS = ['inbound', 'outbound'] as const;
export const messageDirection = z.enum(MESSAGE_DIRECTIONS);
export type MessageDirection = z.infer<typeof messageDirection>;

/**
 * What an inbound message is: a person's message, a bounce, or another robot's auto-reply; or mail kept out of the
 * CRM: `internal` (only the workspace's own people and domains) and `blocked` (a blocklisted sender).
 */
export const MESSAGE_CLASSES = ['message', 'bounce', 'auto_reply', 'internal', 'blocked'] as const;
export const messageClass = z.enum(MESSAGE_CLASSES);
export type MessageClass = z.infer<typeof messageClass>;

/**
 * Where an outgoing message is: stored and waiting, being handed over, handed over, given up; messaging channels
 * also say delivered, read and undelivered (contracts/messaging.ts).
 */
export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'failed', 'delivered', 'read', 'undelivered'] as const;
export const messageStatus = z.enum(MESSAGE_STATUSES);
export type MessageStatus = z.infer<typeof messageStatus>;

/** Mail the gateway accepted: waiting to be read, read into a conversation, or not readable. */
export const INBOUND_STATUSES = ['received', 'processed', 'failed'] as const;
export const inboundStatus = z.enum(INBOUND_STATUSES);
export type InboundStatus = z.infer<typeof inboundStatus>;

/** The list's views in the sidebar. */
export const INBOX_VIEWS = ['all', 'mine', 'unassigned'] as const;
export const inboxView = z.enum(INBOX_VIEWS);
export type InboxView = z.infer<typeof inboxView>;

export const emailAddress = z.object({ address: z.string(), name: z.string() });
export type EmailAddress = z.infer<typeof emailAddress>;

// ---- Mailboxes

/** A mailbox's outgoing mail as the API shows it: secrets are write-only (`hasPassword`, `hasPrivateKey`). */
export const mailboxTransport = z.object({
  smtp: z
    .object({
      host: z.string(),
      port: z.number(),
      secure: z.boolean(),
      user: z.string().nullable(),
      hasPassword: z.boolean(),
    })
    .nullable(),
  dkim: z
    .object({
      selector: z.string(),
      /** The domain that signs: the From address's. */
      domain: z.string(),
      hasPrivateKey: z.boolean(),
      /** Publish `dnsRecord` as a TXT record at this name. */
      dnsName: z.string(),
      dnsRecord: z.string().nullable(),
    })
    .nullable(),
});
export type MailboxTransport = z.infer<typeof mailboxTransport>;

/**
 * `shared`: a team inbox fed by the gateway; `account`: a member's own email account (its mail, synced);
 * `messaging`: an SMS / WhatsApp / Telegram / Discord account's conversations (contracts/messaging.ts).
 */
export const MAILBOX_KINDS = ['shared', 'account', 'messaging'] as const;
export const mailboxKind = z.enum(MAILBOX_KINDS);
export type MailboxKind = z.infer<typeof mailboxKind>;

/** The account behind a mailbox of kind `account`: its address and health (a failing one shows a warning). */
export const mailboxAccount = z.object({
  id: uuid,
  email: z.string(),
  status: accountStatus,
  lastError: z.string().nullable(),
  /** Whether it is the asking member's own account (otherwise shared with them). */
  own: z.boolean(),
});
export type MailboxAccount = z.infer<typeof mailboxAccount>;

export const mailbox = mailboxTransport.extend({
  id: uuid,
  kind: mailboxKind,
  /** Set for kind `account`. */
  account: mailboxAccount.nullable(),
  name: z.string(),
  localPart: z.string(),
  /** Where to send or forward mail for this mailbox: `<localPart>@<workspace slug>.<inbound domain>`. */
  inboundAddress: z.string(),
  /** The public address customers write to (forwarded here), if any. */
  address: z.string().nullable(),
  createContacts: z.boolean(),
  /** Who sees it; empty for everyone. */
  memberIds: z.array(uuid),
  /** Seen only by `memberIds`, owners and admins included (a member's own account). */
  private: z.boolean(),
  /** Opt-in tracking of outgoing mail: open pixel, click redirects. */
  trackOpens: z.boolean(),
  trackClicks: z.boolean(),
  createdAt: isoDate,
  version: z.number(),
});
export type Mailbox = z.infer<typeof mailbox>;
export const mailboxList = z.object({ items: z.array(mailbox) });

const hostName = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(255)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[?[0-9a-f:.]+\]?$/, {
    message: 'must be a host name or an IP address',
  });

/** A mailbox's own SMTP server. `password`: absent keeps the stored one, null removes it. */
export const smtpSettingsInput = z
  .object({
    host: hostName,
    port: z.number().int().min(1).max(65535).optional(),
    secure: z.boolean().optional(),
    user: z.string().trim().max(255).nullable().optional(),
    password: z.string().max(1000).nullable().optional(),
  })
  .strict();

/** DKIM for the From domain. `privateKey` (PEM): absent keeps the stored one. */
export const dkimSettingsInput = z
  .object({
    selector: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/, { message: 'letters, digits, dots and dashes' }),
    privateKey: z.string().trim().max(20_000).optional(),
  })
  .strict();

/** Fields of the mailbox create/patch bodies about outgoing mail; null turns the setting off. */
export const transportFields = {
  smtp: smtpSettingsInput.nullable().optional(),
  dkim: dkimSettingsInput.nullable().optional(),
};
export type MailboxTransportInput = z.input<z.ZodObject<typeof transportFields>>;

const localPart = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/, {
    message: 'letters, digits, dots, dashes and underscores; starting and ending with a letter or digit',
  })
  .refine((v) => !v.includes('..'), 'no two dots in a row');

export const mailboxInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    localPart,
    address: z.string().trim().toLowerCase().email().max(255).nullable().optional(),
    createContacts: z.boolean().optional(),
    memberIds: z.array(z.string().uuid()).max(500).optional(),
    /** Tracking of outgoing mail (opt-in): an open pixel; links through Filo's click redirect. */
    trackOpens: z.boolean().optional(),
    trackClicks: z.boolean().optional(),
    /** Outgoing mail: the mailbox's own SMTP server and DKIM key (secrets are write-only). */
    ...transportFields,
  })
  .strict();
export type MailboxInput = z.input<typeof mailboxInput>;
export const mailboxPatch = mailboxInput.omit({ localPart: true }).partial().strict();
export type MailboxPatch = z.input<typeof mailboxPatch>;

// ---- Conversations

/** The fields every view of a conversation carries. */
const conversationCore = z.object({
  id: uuid,
  /** What it runs on (email today). */
  channel,
  mailboxId: uuid,
  subject: z.string(),
  status: conversationStatus,
  assigneeId: uuid.nullable(),
  tags: z.array(z.string()),
  /** Every address seen in the thread (lower-cased). */
  participants: z.array(z.string()),
  contactId: uuid.nullable(),
  companyId: uuid.nullable(),
  messageCount: z.number(),
  lastMessageAt: isoDate,
  snoozedUntil: isoDate.nullable(),
  /** An earlier conversation this one may continue (it referenced it or shared its subject, with nobody in common). */
  relatedConversationId: uuid.nullable().optional(),
  version: z.number(),
});

/** A conversation as the list shows it, for the user asking. */
export const conversationSummary = conversationCore.extend({
  contactName: z.string().nullable(),
  companyName: z.string().nullable(),
  /** The last message's text, cut short. */
  snippet: z.string(),
  lastFrom: z.string().nullable(),
  /** A message this user has not read yet (their own replies do not count). */
  unread: z.boolean(),
});
export type ConversationSummary = z.infer<typeof conversationSummary>;
export const conversationPage = page(conversationSummary);
export type ConversationPage = z.infer<typeof conversationPage>;

export const countPair = z.object({ total: z.number(), unread: z.number() });
export type CountPair = z.infer<typeof countPair>;

/** The sidebar's numbers: per view and mailbox (total and unread for this user), and per status. */
export const inboxCounts = z.object({
  views: z.record(inboxView, countPair),
  mailboxes: z.record(z.string(), countPair),
  statuses: z.record(conversationStatus, z.number()),
});
export type InboxCounts = z.infer<typeof inboxCounts>;

const id = z.string().uuid();

/** The longest search text the inbox takes (in characters). */
export const SEARCH_MAX = 200;
/** How many mailboxes or accounts one list may filter by. */
export const MAILBOX_FILTER_MAX = 50;

export const conversationListQuery = z
  .object({
    /** One mailbox or account, or several (`mailboxId=a&mailboxId=b`): conversations of any of them. */
    mailboxId: z.union([id, z.array(id).min(1).max(MAILBOX_FILTER_MAX)]).optional(),
    /** Words to find (as prefixes, all of them) in the messages' subject, text and sender, or the conversation's. */
    q: z
      .string()
      .trim()
      .min(1)
      .max(SEARCH_MAX)
      .regex(/[\p{L}\p{N}]/u, { message: 'must contain a letter or a digit' })
      .optional(),
    status: conversationStatus.optional(),
    /** `me`, `none` (unassigned) or a user id. */
    assignee: z.union([z.literal('me'), z.literal('none'), id]).optional(),
    contactId: id.optional(),
    companyId: id.optional(),
    /** Conversations carrying this tag (normalized like tags are). */
    tag: z.string().trim().toLowerCase().max(40).optional(),
    /** `true`: only those with a message this user has not read. */
    unread: z.enum(['true', 'false']).optional(),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  })
  .strict();
export type ConversationListQuery = z.input<typeof conversationListQuery>;

export const conversationCountsQuery = z
  .object({
    /** Count only conversations in this status (the list's status filter); all statuses without it. */
    status: conversationStatus.optional(),
  })
  .strict();

export const TAGS_MAX = 20;
const TAG = /^[\p{L}\p{N}][\p{L}\p{N}_.:/+-]*$/u;
/** A tag as stored: trimmed, lower-cased, inner spaces as dashes. */
const tag = z
  .string()
  .transform((v) => v.trim().toLowerCase().replace(/\s+/g, '-'))
  .pipe(z.string().min(1, 'a tag cannot be empty').max(40).regex(TAG, 'letters, digits and - _ . : / +'));
export const conversationTags = z
  .array(tag)
  .max(100)
  .transform((tags) => [...new Set(tags)])
  .refine((tags) => tags.length <= TAGS_MAX, `at most ${TAGS_MAX} tags`);

export const conversationPatch = z
  .object({
    status: conversationStatus.optional(),
    /** A member of the workspace who sees the mailbox, or null to unassign. */
    assigneeId: id.nullable().optional(),
    tags: conversationTags.optional(),
    /** Required with status `snoozed`; must be in the future. */
    snoozedUntil: z.iso.datetime({ offset: true }).nullable().optional(),
    /** The version the client last saw: a newer one on the server answers 409. */
    version: z.number().int().min(1).optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).some((k) => k !== 'version'), { message: 'nothing to change' });
export type ConversationPatch = z.input<typeof conversationPatch>;

/** The answer of `POST /conversations/:id/read`. */
export const conversationRead = z.object({ id: uuid, unread: z.literal(false), lastReadAt: isoDate });
export type ConversationRead = z.infer<typeof conversationRead>;

// ---- Messages

/** SPF, DKIM, DMARC and ARC verdicts of an inbound message (mailauth's keywords: pass, fail, none, ...). */
export const authVerdicts = z.object({
  spf: z.string(),
  dkim: z.string(),
  dmarc: z.string(),
  arc: z.string(),
  /** Supporting facts, e.g. `spf.domain`, `dkim.domains`, `dmarc.policy`. */
  details: z.record(z.string(), z.string()),
});
export type AuthVerdicts = z.infer<typeof authVerdicts>;

/** A file of a message, as stored (a document of the workspace). */
export const storedAttachment = z.object({
  documentId: uuid,
  fileName: z.string(),
  contentType: z.string(),
  size: z.number(),
  /** Content-ID without brackets, for `cid:` images in the HTML. */
  cid: z.string().nullable(),
  inline: z.boolean(),
});
export type StoredAttachment = z.infer<typeof storedAttachment>;

export const messageAttachment = storedAttachment.extend({
  /** Download URL. */
  url: z.string(),
});
export type MessageAttachment = z.infer<typeof messageAttachment>;

/** The customer's own opens and clicks of an outgoing message (machine loads are not counted). */
export const messageTracking = z.object({
  opens: z.number(),
  openedAt: isoDate.nullable(),
  clicks: z.number(),
  clickedAt: isoDate.nullable(),
});
export type MessageTracking = z.infer<typeof messageTracking>;

/** A message as the conversation view receives it, inbound or outbound. */
export const message = z.object({
  id: uuid,
  direction: messageDirection,
  classification: messageClass,
  /** The Message-ID header, without angle brackets. */
  messageId: z.string().nullable(),
  inReplyTo: z.string().nullable(),
  from: emailAddress.nullable(),
  to: z.array(emailAddress),
  cc: z.array(emailAddress),
  subject: z.string(),
  text: z.string().nullable(),
  /** Sanitized on the server; remote images wait in `data-remote-src`. */
  html: z.string().nullable(),
  hasRemoteImages: z.boolean(),
  sentAt: isoDate.nullable(),
  receivedAt: isoDate,
  auth: authVerdicts.nullable(),
  /** How it was read (codes: duplicate_message_id, yenc, partial, tnef, html_replaced_by_text). */
  notices: z.array(z.string()),
  attachments: z.array(messageAttachment),
  contactId: uuid.nullable(),
  companyId: uuid.nullable(),
  /** Outbound: where its delivery is, and why it failed. */
  status: messageStatus.nullable(),
  error: z.string().nullable(),
  /** The channel it went on; for messaging, the recipient (E.164 number, chat id) and the provider's error code. */
  channel: channel.optional(),
  toAddress: z.string().nullable().optional(),
  errorCode: z.string().nullable().optional(),
  /** Outbound from a tracking mailbox: human opens and clicks. */
  tracking: messageTracking.nullable(),
  /** The teammate who sent it (outbound). */
  sentBy: uuid.nullable(),
  /** The mail the gateway accepted, when it came in by SMTP. */
  inboundId: uuid.nullable(),
  /** URL of the message as it arrived (.eml), when it came in by SMTP. */
  raw: z.string().nullable(),
});
export type Message = z.infer<typeof message>;

export const conversationDetail = conversationCore.extend({ messages: z.array(message) });
export type ConversationDetail = z.infer<typeof conversationDetail>;

/** A message the gateway accepted but could not process (admins see them and retry). */
export const failedInbound = z.object({
  id: uuid,
  mailboxId: uuid.nullable(),
  mailFrom: z.string().nullable(),
  rcptTo: z.array(z.string()),
  size: z.number(),
  error: z.string().nullable(),
  attempts: z.number(),
  receivedAt: isoDate,
  /** URL of the message as it arrived (.eml). */
  raw: z.string(),
});
export type FailedInbound = z.infer<typeof failedInbound>;
export const failedInboundList = z.object({ items: z.array(failedInbound) });

/** The answer of a retry: the mail is queued to be read again. */
export const inboundRetry = z.object({ id: uuid, status: inboundStatus });
export type InboundRetry = z.infer<typeof inboundRetry>;

// ---- Sockets

/** `conversation:updated`: a conversation of a mailbox the socket follows changed (new mail, status, assignee, tags). */
export const conversationChange = z.object({
  id: uuid,
  mailboxId: uuid,
  status: conversationStatus,
  assigneeId: uuid.nullable(),
  tags: z.array(z.string()),
  snoozedUntil: isoDate.nullable(),
  lastMessageAt: isoDate,
  messageCount: z.number(),
  version: z.number(),
  /** `message`: a message came in or went out; `updated`: someone changed the conversation. */
  reason: z.enum(['message', 'updated']),
  /** Who changed it (null when Filo did: inbound mail, a snooze ending). */
  actorId: uuid.nullable(),
});
export type ConversationChange = z.infer<typeof conversationChange>;
