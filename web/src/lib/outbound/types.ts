/** Shapes of the outbound-mail API's answers (dates are ISO strings). */
import type { EmailAddress } from '#lib/inbox/types.ts';

export const TEMPLATE_TOKENS = [
  'contact.first_name',
  'contact.last_name',
  'contact.email',
  'company.name',
  'user.name',
  'mailbox.name',
] as const;

export interface EmailTemplate {
  id: string;
  name: string;
  subject: string | null;
  body: string;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface TemplateInput {
  name: string;
  subject?: string | null;
  body: string;
}

export interface RenderedTemplate {
  templateId: string;
  subject: string | null;
  /** Markdown with the tokens filled in. */
  body: string;
  html: string;
  text: string;
}

export interface Signature {
  id: string;
  /** user: someone's own (for one mailbox or their default); mailbox: the mailbox's. */
  scope: 'user' | 'mailbox';
  userId: string | null;
  mailboxId: string | null;
  body: string;
  updatedAt: string;
  version: number;
}

export interface OutboundMessage {
  id: string;
  conversationId: string;
  direction: 'outbound';
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  from: EmailAddress | null;
  to: EmailAddress[];
  cc: EmailAddress[];
  bcc: EmailAddress[];
  subject: string;
  text: string | null;
  html: string | null;
  status: 'queued' | 'sending' | 'sent' | 'failed' | null;
  error: string | null;
  sentAt: string | null;
  createdAt: string;
  attempts: number;
  transport: 'mailbox' | 'relay' | 'outbox' | null;
}

export interface ComposeInput {
  body?: string;
  format?: 'markdown' | 'html';
  to?: string[];
  cc?: string[];
  bcc?: string[];
  attachments?: string[];
  templateId?: string;
  signatureId?: string;
  /** As edited; null or '' for none. */
  signature?: string | null;
}

export interface NewMessageInput extends ComposeInput {
  mailboxId: string;
  to: string[];
  subject?: string;
  contactId?: string;
}

export interface UploadedFile {
  id: string;
  fileName: string;
  fileType: string | null;
  fileSize: number;
}

/** A message kept in the development outbox instead of being sent. */
export interface OutboxItem {
  id: string;
  keptAt: string;
  from: string;
  to: string;
  cc: string;
  subject: string;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  text: string;
  html: string | null;
  attachments: { fileName: string; contentType: string; size: number }[];
  dkimSigned: boolean;
  size: number;
}

/** What the mailbox API says about a mailbox's outgoing mail (secrets are write-only). */
export interface MailboxTransport {
  smtp: { host: string; port: number; secure: boolean; user: string | null; hasPassword: boolean } | null;
  dkim: {
    selector: string;
    domain: string;
    hasPrivateKey: boolean;
    dnsName: string;
    dnsRecord: string | null;
  } | null;
}

export interface MailboxTransportInput {
  smtp?: { host: string; port?: number; secure?: boolean; user?: string | null; password?: string | null } | null;
  dkim?: { selector: string; privateKey?: string } | null;
}

/** A domain the workspace may send from once its DNS carries the token. */
export interface SendingDomain {
  id: string;
  domain: string;
  status: 'pending' | 'verified';
  verifiedAt: string | null;
  checkedAt: string | null;
  lastError: string | null;
  record: { type: 'TXT'; name: string; value: string };
  createdAt: string;
}
