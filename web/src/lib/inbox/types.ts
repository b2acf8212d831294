/** Shapes of the inbox API's answers, as JSON (dates are ISO strings). */

export const CONVERSATION_STATUSES = ['open', 'pending', 'closed', 'snoozed'] as const;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];

export interface Mailbox {
  id: string;
  name: string;
  localPart: string;
  /** Where to send or forward mail for this mailbox: `<localPart>@<workspace slug>.<inbound domain>`. */
  inboundAddress: string;
  /** The public address customers write to (forwarded here), if any. */
  address: string | null;
  createContacts: boolean;
  /** Who sees it; empty for everyone. */
  memberIds: string[];
  /** Opt-in tracking of outgoing mail: open pixel, click redirects. */
  trackOpens: boolean;
  trackClicks: boolean;
  createdAt: string;
  version: number;
}

export interface MailboxInput {
  name: string;
  localPart: string;
  address?: string | null;
  createContacts?: boolean;
  memberIds?: string[];
  trackOpens?: boolean;
  trackClicks?: boolean;
}

export type MailboxPatch = Partial<Omit<MailboxInput, 'localPart'>>;

export interface ConversationSummary {
  id: string;
  mailboxId: string;
  subject: string;
  status: ConversationStatus;
  assigneeId: string | null;
  tags: string[];
  participants: string[];
  contactId: string | null;
  companyId: string | null;
  contactName: string | null;
  companyName: string | null;
  messageCount: number;
  lastMessageAt: string;
  snippet: string;
  lastFrom: string | null;
  snoozedUntil: string | null;
  /** An earlier conversation this one may continue (it referenced it or shared its subject, with nobody in common). */
  relatedConversationId?: string | null;
  /** A message this user has not read yet. */
  unread: boolean;
  version: number;
}

/** The list's views in the sidebar. */
export const INBOX_VIEWS = ['all', 'mine', 'unassigned'] as const;
export type InboxView = (typeof INBOX_VIEWS)[number];

export interface CountPair {
  total: number;
  unread: number;
}

export interface InboxCounts {
  views: Record<InboxView, CountPair>;
  mailboxes: Record<string, CountPair | undefined>;
  statuses: Record<ConversationStatus, number>;
}

export interface ConversationPatch {
  status?: ConversationStatus;
  assigneeId?: string | null;
  tags?: string[];
  snoozedUntil?: string | null;
  version?: number;
}

/** `conversation:updated`, as it arrives (JSON dates). */
export interface ConversationChange {
  id: string;
  mailboxId: string;
  status: ConversationStatus;
  assigneeId: string | null;
  tags: string[];
  snoozedUntil: string | null;
  lastMessageAt: string;
  messageCount: number;
  version: number;
  reason: 'message' | 'updated';
  actorId: string | null;
}

export interface EmailAddress {
  address: string;
  name: string;
}

export interface AuthVerdicts {
  spf: string;
  dkim: string;
  dmarc: string;
  arc: string;
  /** Supporting facts, e.g. `spf.domain`, `dkim.domains`, `dmarc.policy`. */
  details: Record<string, string>;
}

export interface EmailAttachment {
  documentId: string;
  fileName: string;
  contentType: string;
  size: number;
  cid: string | null;
  inline: boolean;
  /** Download URL. */
  url: string;
}

export interface EmailMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  classification: 'message' | 'bounce' | 'auto_reply';
  messageId: string | null;
  from: EmailAddress | null;
  to: EmailAddress[];
  cc: EmailAddress[];
  subject: string;
  text: string | null;
  /** Sanitized on the server; remote images wait in `data-remote-src`. */
  html: string | null;
  hasRemoteImages: boolean;
  /** How it was read (codes, see `inbox.notices` in the messages). */
  notices?: string[];
  sentAt: string | null;
  receivedAt: string;
  auth: AuthVerdicts | null;
  attachments: EmailAttachment[];
  contactId: string | null;
  companyId: string | null;
  /** URL of the message as it arrived (.eml), when it came in by SMTP. */
  raw: string | null;
  /** The teammate who sent it (outbound messages). */
  sentBy?: string | null;
  /** Outbound: queued | sending | sent | failed, and why it failed. */
  status?: string | null;
  error?: string | null;
  /** Outbound: the customer's own opens and clicks (from a tracking mailbox; machine loads not counted). */
  tracking?: MessageTracking | null;
}

export interface MessageTracking {
  opens: number;
  openedAt: string | null;
  clicks: number;
  clickedAt: string | null;
}

export interface ConversationDetail {
  id: string;
  mailboxId: string;
  subject: string;
  status: ConversationStatus;
  assigneeId: string | null;
  tags: string[];
  participants: string[];
  contactId: string | null;
  companyId: string | null;
  messageCount: number;
  lastMessageAt: string;
  snoozedUntil: string | null;
  /** An earlier conversation this one may continue (see ConversationSummary). */
  relatedConversationId?: string | null;
  version: number;
  messages: EmailMessage[];
}

/** A message the gateway accepted but could not process (admins). */
export interface FailedInbound {
  id: string;
  mailboxId: string | null;
  mailFrom: string | null;
  rcptTo: string[];
  size: number;
  error: string | null;
  attempts: number;
  receivedAt: string;
  raw: string;
}
