import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';
import { emailAddress, messageStatus, storedAttachment } from './inbox.ts';

/** Outgoing mail as the API sends it: replies and new messages, templates, signatures, sending domains, uploads. */

// ---- Replies and new messages

export const COMPOSE_FORMATS = ['markdown', 'html'] as const;

/** How a message left: the mailbox's own SMTP server, a member's account, the workspace relay, or the development outbox. */
export const TRANSPORTS = ['mailbox', 'account', 'relay', 'outbox'] as const;
export const transport = z.enum(TRANSPORTS);

const id = z.string().uuid();
const address = z.string().trim().toLowerCase().email().max(320);
/** One address, a comma-separated list, or an array of them. */
const recipients = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((a) => a.trim()).filter(Boolean))
  .pipe(z.array(address).max(50));

const composeFields = {
  body: z.string().max(200_000).optional(),
  format: z.enum(COMPOSE_FORMATS).default('markdown'),
  cc: recipients.optional(),
  bcc: recipients.optional(),
  /** Documents of the conversation's contact or company, or uploaded for this message. */
  attachments: z.array(id).max(20).optional(),
  templateId: id.optional(),
  /** A signature of yours or of the mailbox; without it (and without `signature`) the usual one is chosen. */
  signatureId: id.optional(),
  /** The signature as edited in the composer; null or empty for none. */
  signature: z.string().max(20_000).nullable().optional(),
  /** Send through a member's email account (its SMTP server), as its address or one of its aliases (default: its address). */
  from: z.object({ accountId: id, address: address.optional() }).strict().optional(),
};
const needsBody = (v: { body?: string | undefined; templateId?: string | undefined }) =>
  Boolean(v.body?.trim()) || Boolean(v.templateId);

/** A reply in a conversation: to the customer's last message unless `to` says otherwise. */
export const replyInput = z
  .object({ ...composeFields, to: recipients.optional() })
  .strict()
  .refine(needsBody, { message: 'write a body or choose a template', path: ['body'] });
export type ReplyInput = z.input<typeof replyInput>;

/** A new conversation, started by us. */
export const newMessageInput = z
  .object({
    ...composeFields,
    /** A shared mailbox, or an account's mailbox; may be left out with `from` (the account's own mailbox). */
    mailboxId: id.optional(),
    to: recipients.pipe(z.array(address).min(1).max(50)),
    subject: z.string().trim().max(998).optional(),
    contactId: id.optional(),
  })
  .strict()
  .refine(needsBody, { message: 'write a body or choose a template', path: ['body'] })
  .refine((v) => Boolean(v.subject) || Boolean(v.templateId), { message: 'is required', path: ['subject'] })
  .refine((v) => Boolean(v.mailboxId) || Boolean(v.from), { message: 'is required', path: ['mailboxId'] });
export type NewMessageInput = z.input<typeof newMessageInput>;

/** One From the member may choose: a shared mailbox's address, or an account's address or alias (`accountId` set). */
export const sender = z.object({
  kind: z.enum(['mailbox', 'account']),
  /** The mailbox the conversation lives in (an account's own mailbox for an account). */
  mailboxId: uuid,
  accountId: uuid.nullable(),
  address: z.string(),
  /** The display name the recipient sees. */
  name: z.string(),
});
export type Sender = z.infer<typeof sender>;
export const senderList = z.object({ items: z.array(sender) });

/** An outgoing message and its delivery: the answer of a reply, a new message, a retry, and the delivery view. */
export const outboundMessage = z.object({
  id: uuid,
  conversationId: uuid,
  direction: z.literal('outbound'),
  messageId: z.string().nullable(),
  inReplyTo: z.string().nullable(),
  references: z.array(z.string()),
  from: emailAddress.nullable(),
  to: z.array(emailAddress),
  cc: z.array(emailAddress),
  bcc: z.array(emailAddress),
  subject: z.string(),
  text: z.string().nullable(),
  html: z.string().nullable(),
  attachments: z.array(storedAttachment),
  status: messageStatus.nullable(),
  error: z.string().nullable(),
  sentAt: isoDate.nullable(),
  createdAt: isoDate,
  sentBy: uuid.nullable(),
  /** Tries so far (the send job retries temporary failures). */
  attempts: z.number(),
  transport: transport.nullable(),
});
export type OutboundMessage = z.infer<typeof outboundMessage>;

/** A file uploaded in the composer, before the message it goes with exists. */
export const uploadedFile = z.object({
  id: uuid,
  fileName: z.string(),
  fileType: z.string().nullable(),
  fileSize: z.number(),
});
export type UploadedFile = z.infer<typeof uploadedFile>;

// ---- Templates

/** The tokens a template, a signature or a message may carry (`{{contact.first_name}}`). */
export const TEMPLATE_TOKENS = [
  'contact.first_name',
  'contact.last_name',
  'contact.email',
  'company.name',
  'user.name',
  'mailbox.name',
] as const;

export const templateInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    subject: z.string().trim().max(998).nullable().optional(),
    body: z.string().min(1).max(100_000),
  })
  .strict();
export type TemplateInput = z.input<typeof templateInput>;
export const templatePatch = templateInput.partial().strict();
export type TemplatePatch = z.input<typeof templatePatch>;

/** What to fill a template's tokens from: a conversation, or a contact (and a mailbox). */
export const renderInput = z
  .object({ conversationId: id.optional(), contactId: id.optional(), mailboxId: id.optional() })
  .strict();
export type RenderInput = z.input<typeof renderInput>;

export const emailTemplate = z.object({
  id: uuid,
  name: z.string(),
  subject: z.string().nullable(),
  /** Markdown with tokens. */
  body: z.string(),
  createdBy: uuid.nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  version: z.number(),
});
export type EmailTemplate = z.infer<typeof emailTemplate>;
export const templateList = z.object({ items: z.array(emailTemplate) });

export const renderedTemplate = z.object({
  templateId: uuid,
  subject: z.string().nullable(),
  /** Markdown with the tokens filled in. */
  body: z.string(),
  html: z.string(),
  text: z.string(),
});
export type RenderedTemplate = z.infer<typeof renderedTemplate>;

// ---- Signatures

/** user: someone's own (for one mailbox or their default); mailbox: the mailbox's. */
export const SIGNATURE_SCOPES = ['user', 'mailbox'] as const;

export const signatureInput = z
  .object({
    /** user: yours (for one mailbox, or your default without one); mailbox: the mailbox's own (admins). */
    scope: z.enum(SIGNATURE_SCOPES),
    mailboxId: id.nullable().optional(),
    body: z.string().max(20_000),
  })
  .strict();
export type SignatureInput = z.input<typeof signatureInput>;
export const signaturePatch = z.object({ body: z.string().max(20_000) }).strict();
/** Which signature a composer in this mailbox starts with. */
export const resolveQuery = z.object({ mailboxId: id }).strict();

export const signature = z.object({
  id: uuid,
  scope: z.enum(SIGNATURE_SCOPES),
  userId: uuid.nullable(),
  mailboxId: uuid.nullable(),
  body: z.string(),
  updatedAt: isoDate,
  version: z.number(),
});
export type Signature = z.infer<typeof signature>;
export const signatureList = z.object({ items: z.array(signature) });
export const defaultSignature = z.object({ signature: signature.nullable() });

// ---- Sending domains

const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const sendingDomainInput = z
  .object({
    domain: z
      .string()
      .trim()
      .toLowerCase()
      .transform((d) => d.replace(/\.$/, ''))
      .pipe(z.string().regex(DOMAIN, { message: 'must be a domain name such as example.com' })),
  })
  .strict();

export const SENDING_DOMAIN_STATUSES = ['pending', 'verified'] as const;

/** A domain the workspace may send from once its DNS carries the token. */
export const sendingDomain = z.object({
  id: uuid,
  domain: z.string(),
  status: z.enum(SENDING_DOMAIN_STATUSES),
  verifiedAt: isoDate.nullable(),
  checkedAt: isoDate.nullable(),
  /** Why the last check did not verify it. */
  lastError: z.string().nullable(),
  /** What to publish: this TXT record at `name` (or the same value at the domain itself). */
  record: z.object({ type: z.literal('TXT'), name: z.string(), value: z.string() }),
  createdAt: isoDate,
});
export type SendingDomain = z.infer<typeof sendingDomain>;
export const sendingDomainList = z.object({ items: z.array(sendingDomain) });

// ---- Development outbox

/** A message kept in the development outbox instead of being sent. */
export const outboxItem = z.object({
  id: z.string(),
  keptAt: isoDate,
  from: z.string(),
  to: z.string(),
  cc: z.string(),
  subject: z.string(),
  messageId: z.string().nullable(),
  inReplyTo: z.string().nullable(),
  references: z.array(z.string()),
  text: z.string(),
  html: z.string().nullable(),
  attachments: z.array(z.object({ fileName: z.string(), contentType: z.string(), size: z.number() })),
  dkimSigned: z.boolean(),
  size: z.number(),
});
export type OutboxItem = z.infer<typeof outboxItem>;
export const outbox = z.object({ items: z.array(outboxItem), sending: z.boolean() });
