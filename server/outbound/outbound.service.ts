import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fileTypeFromFile } from 'file-type';
import type Mail from 'nodemailer/lib/mailer';
import { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import { ContactSchema } from '../../db/entities/contact.entity.ts';
import { ConversationSchema, type Conversation } from '../../db/entities/conversation.entity.ts';
import { DocumentSchema, type Document } from '../../db/entities/document.entity.ts';
import { EmailMessageSchema, type EmailAddress, type EmailMessage } from '../../db/entities/email-message.entity.ts';
import { EmailTemplateSchema } from '../../db/entities/email-template.entity.ts';
import { MailboxSchema, type Mailbox } from '../../db/entities/mailbox.entity.ts';
import { OutboundDeliverySchema } from '../../db/entities/outbound-delivery.entity.ts';
import { normalizeSubject } from '../../mail-gateway/pipeline/subject.ts';
import type { ActivitiesService } from '../crm/activities.service.ts';
import type { Secrets } from '../crypto/secrets.ts';
import type { Publisher } from '../events.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import type { Logger } from '../logger.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { authorOf, inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import { composeOffThread } from './compose.ts';
import { checkTokens, tokenContext, visibleConversation, type TokenContext } from './context.ts';
import type { SignaturesService } from './signatures.service.ts';
import { renderTokens } from './tokens.ts';
import { senderAllowed, senderNotVerified } from './sending-domains.service.ts';
import { dkimOf, smtpOf } from './transport-settings.ts';
import type { TrackingService } from './tracking.service.ts';
import { truncateFileName } from '../text.ts';
import { mailboxFilter, visibleMailboxes } from '../crm/mailbox-visibility.ts';

export const OUTBOUND_QUEUE = 'outbound.send';
export interface OutboundJob {
  messageId: string;
  tenantId: string;
}

/** Documents uploaded for a reply before it is sent belong to their uploader until then. */
export const UPLOAD_ENTITY = 'outbound_upload';
export const UPLOAD_MAX_BYTES = 25 * 1024 * 1024;
/** A send that stopped mid-way (a crashed worker) is tried again after this long. */
const STALE_SENDING_MS = 5 * 60_000;

const uuid = z.string().uuid();
const address = z.string().trim().toLowerCase().email().max(320);
/** One address, a comma-separated list, or an array of them. */
const recipients = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((a) => a.trim()).filter(Boolean))
  .pipe(z.array(address).max(50));

const composeFields = {
  body: z.string().max(200_000).optional(),
  format: z.enum(['markdown', 'html']).default('markdown'),
  cc: recipients.optional(),
  bcc: recipients.optional(),
  /** Documents of the conversation's contact or company, or uploaded for this message. */
  attachments: z.array(uuid).max(20).optional(),
  templateId: uuid.optional(),
  /** A signature of yours or of the mailbox; without it (and without `signature`) the usual one is chosen. */
  signatureId: uuid.optional(),
  /** The signature as edited in the composer; null or empty for none. */
  signature: z.string().max(20_000).nullable().optional(),
};
const needsBody = (v: { body?: string | undefined; templateId?: string | undefined }) =>
  Boolean(v.body?.trim()) || Boolean(v.templateId);

export const replyInput = z
  .object({ ...composeFields, to: recipients.optional() })
  .strict()
  .refine(needsBody, { message: 'write a body or choose a template', path: ['body'] });

export const newMessageInput = z
  .object({
    ...composeFields,
    mailboxId: uuid,
    to: recipients.pipe(z.array(address).min(1).max(50)),
    subject: z.string().trim().max(998).optional(),
    contactId: uuid.optional(),
  })
  .strict()
  .refine(needsBody, { message: 'write a body or choose a template', path: ['body'] })
  .refine((v) => Boolean(v.subject) || Boolean(v.templateId), { message: 'is required', path: ['subject'] });

type ComposeInput = z.infer<typeof replyInput>;

export interface OutboundMessageDto {
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
  attachments: EmailMessage['attachments'];
  status: string | null;
  error: string | null;
  sentAt: Date | null;
  createdAt: Date;
  sentBy: string | null;
  attempts: number;
  transport: string | null;
}

const asAddresses = (list: string[]): EmailAddress[] => list.map((a) => ({ address: a, name: '' }));
const replySubject = (s: string) => (/^\s*re\s*:/i.test(s) ? s : `Re: ${s}`);
const fmt = (a: EmailAddress[]) => a.map((x) => x.address).join(', ');

/** What nodemailer turns into spaces in an address (and its SMTP client refuses in an envelope). */
// eslint-disable-next-line no-control-regex
const UNSENDABLE = /[\u0000-\u001f\u007f<>]/;

/** Whether a send failure will not go away by trying again (the server refused for good). */
function permanent(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string };
  if (typeof e.responseCode === 'number') return e.responseCode >= 500;
  // A refused host or a server without TLS (where a password would go in clear) will not change by itself.
  return ['EAUTH', 'EENVELOPE', 'EMESSAGE', 'ETARGETREFUSED', 'ETLS'].includes(e.code ?? '');
}

/**
 * Replies and new messages from a mailbox: stored at once (queued) with their threading headers, sent by a job
 * with retries, then recorded as `email.sent` on the customer's timeline. Failures stay on the message.
 */
export class OutboundService {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;
  readonly #signatures: SignaturesService;
  readonly #activities: ActivitiesService;
  readonly #publisher: Publisher;
  readonly #mailer: Mailer;
  readonly #blobs: BlobStore;
  readonly #secrets: Secrets;
  readonly #inboundDomain: string;
  readonly #log: Logger;
  readonly #tracking: TrackingService | undefined;
  /** First retry delay of the send job (seconds), doubling after each temporary failure. */
  readonly retryDelaySeconds: number;
  /** Set by the jobs module. */
  enqueue: (job: OutboundJob) => Promise<void> = () => Promise.reject(new Error('jobs are not running'));

  constructor(deps: {
    orm: MikroORM;
    mailboxes: MailboxesService;
    signatures: SignaturesService;
    activities: ActivitiesService;
    publisher: Publisher;
    mailer: Mailer;
    blobs: BlobStore;
    secrets: Secrets;
    inboundDomain: string;
    retryDelaySeconds?: number;
    /** Open pixel and tracked links for mailboxes that ask for them. */
    tracking?: TrackingService;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#mailboxes = deps.mailboxes;
    this.#signatures = deps.signatures;
    this.#activities = deps.activities;
    this.#publisher = deps.publisher;
    this.#mailer = deps.mailer;
    this.#blobs = deps.blobs;
    this.#secrets = deps.secrets;
    this.#inboundDomain = deps.inboundDomain;
    this.#log = deps.log;
    this.#tracking = deps.tracking;
    this.retryDelaySeconds = deps.retryDelaySeconds ?? 10;
  }

  async #slug(uow: UnitOfWork): Promise<string> {
    const [row] = (await uow.em.execute(`select slug from tenants where id = ?`, [uow.actor.tenantId])) as {
      slug: string;
    }[];
    return row!.slug;
  }

  /** A reply in a conversation: to the customer's last message, with In-Reply-To and References. */
  async reply(
    actor: Actor,
    conversationId: string,
    input: ComposeInput,
    /** Extra header fields (an auto-reply's `Auto-Submitted`); not for the API. */
    opts: { headers?: Record<string, string> } = {},
  ): Promise<OutboundMessageDto> {
    requireWrite(actor);
    const dto = await inTenant(this.#orm, actor, async (uow) => {
      const { conversation, mailbox } = await visibleConversation(uow, this.#mailboxes, conversationId);
      await uow.em.execute(`select id from conversations where id = ? for update`, [conversation.id]);
      const messages = await uow.em.find(
        EmailMessageSchema,
        { conversationId: conversation.id },
        { orderBy: { createdAt: 'desc' }, limit: 200 },
      );
      // The message replied to is the customer's last one, and it goes to whoever sent that message (never to
      // someone else's address); in a thread we started and they have not answered yet, our last one.
      const lastCustomer = messages.find(
        (m) => m.direction === 'inbound' && m.classification === 'message' && m.fromAddress,
      );
      const parent =
        lastCustomer ??
        messages.find((m) => m.direction === 'inbound' && m.messageIdHeader) ??
        messages.find((m) => m.messageIdHeader);
      const to =
        input.to ??
        (lastCustomer?.fromAddress
          ? [lastCustomer.fromAddress.toLowerCase()]
          : (messages.find((m) => m.direction === 'outbound')?.to.map((a) => a.address) ?? []));
      if (!to.length)
        throw new HttpError(400, 'validation_failed', 'Nobody to reply to: give the recipients', { to: 'is required' });
      const references = parent
        ? [...new Set([...parent.references, ...(parent.messageIdHeader ? [parent.messageIdHeader] : [])])].slice(-20)
        : [];
      const ctx = await tokenContext(uow, this.#mailboxes, { conversationId: conversation.id });
      return this.#queue(uow, {
        mailbox,
        conversation,
        ctx,
        input,
        to,
        subject: replySubject(conversation.subject),
        inReplyTo: parent?.messageIdHeader ?? null,
        references,
        headers: opts.headers ?? {},
      });
    });
    await this.#enqueue(actor.tenantId, dto.id);
    return dto;
  }

  /** A new conversation, started by us. */
  async start(actor: Actor, input: z.infer<typeof newMessageInput>): Promise<OutboundMessageDto> {
    requireWrite(actor);
    const dto = await inTenant(this.#orm, actor, async (uow) => {
      const mailbox = await this.#mailboxes.findVisible(uow, input.mailboxId);
      let contactId = input.contactId ?? null;
      if (contactId && !(await uow.em.findOne(ContactSchema, { id: contactId }))) throw notFound('Contact');
      if (!contactId) {
        const [found] = (await uow.em.execute(
          `select id from contacts where tenant_id = ? and lower(email) = ? order by created_at limit 1`,
          [uow.actor.tenantId, input.to[0]],
        )) as { id: string }[];
        contactId = found?.id ?? null;
      }
      const ctx = await tokenContext(uow, this.#mailboxes, {
        mailboxId: mailbox.id,
        contactId: contactId ?? undefined,
      });
      let subject = input.subject ?? '';
      if (!subject && input.templateId) {
        const template = await uow.em.findOne(EmailTemplateSchema, { id: input.templateId });
        if (!template) throw notFound('Template');
        subject = template.subject ? renderTokens(template.subject, ctx.values) : '';
      }
      if (!subject.trim())
        throw new HttpError(400, 'validation_failed', 'The message needs a subject', { subject: 'is required' });
      const now = new Date();
      const conversation = uow.em.create(ConversationSchema, {
        tenantId: uow.actor.tenantId,
        mailboxId: mailbox.id,
        subject: subject.slice(0, 998),
        normalizedSubject: normalizeSubject(subject).slice(0, 998),
        participants: [],
        contactId,
        companyId: ctx.contact?.companyId ?? null,
        messageCount: 0,
        lastMessageAt: now,
        assigneeId: authorOf(actor),
      });
      await uow.em.flush();
      return this.#queue(uow, {
        mailbox,
        conversation,
        ctx: { ...ctx, conversation },
        input,
        to: input.to,
        subject,
        inReplyTo: null,
        references: [],
      });
    });
    await this.#enqueue(actor.tenantId, dto.id);
    return dto;
  }

  async #enqueue(tenantId: string, messageId: string) {
    // Committed as `queued` first: if this fails, the worker's start-up sweep queues it again.
    await this.enqueue({ tenantId, messageId }).catch((err: unknown) =>
      this.#log.error({ err, messageId }, 'could not queue an outbound message (it is picked up at the next start)'),
    );
  }

  async #signature(uow: UnitOfWork, mailbox: Mailbox, input: ComposeInput, ctx: TokenContext): Promise<string | null> {
    let text: string | null;
    if (input.signature !== undefined) text = input.signature;
    else if (input.signatureId) text = (await this.#signatures.usable(uow, input.signatureId)).body;
    else text = (await this.#signatures.choose(uow, mailbox.id))?.body ?? null;
    if (!text?.trim()) return null;
    return checkTokens('signature', () => renderTokens(text, ctx.values));
  }

  async #attachments(uow: UnitOfWork, ids: string[], conversation: Conversation): Promise<Document[]> {
    if (!ids.length) return [];
    // A document of a mailbox the sender does not see is as good as absent (its id may have leaked elsewhere).
    const docs = await uow.em.find(DocumentSchema, {
      id: { $in: [...new Set(ids)] },
      ...mailboxFilter(await visibleMailboxes(uow)),
    });
    if (docs.length !== new Set(ids).size) throw notFound('Attachment');
    const allowed = (d: Document) =>
      (d.entityType === 'contact' && d.entityId === conversation.contactId) ||
      (d.entityType === 'company' && d.entityId === conversation.companyId) ||
      (d.entityType === 'conversation' && d.entityId === conversation.id) ||
      (d.entityType === UPLOAD_ENTITY && d.entityId === uow.actor.userId);
    const refused = docs.find((d) => !allowed(d));
    if (refused)
      throw new HttpError(400, 'invalid_attachment', `${refused.fileName} is not a document of this customer`, {
        attachments: 'only documents of the conversation’s contact or company, or files uploaded for this message',
      });
    return docs;
  }

  async #queue(
    uow: UnitOfWork,
    q: {
      mailbox: Mailbox;
      conversation: Conversation;
      ctx: TokenContext;
      input: ComposeInput;
      to: string[];
      subject: string;
      inReplyTo: string | null;
      references: string[];
      headers?: Record<string, string>;
    },
  ): Promise<OutboundMessageDto> {
    const { em, actor } = uow;
    const { mailbox, conversation, input } = q;
    let body = input.body ?? '';
    let format = input.format;
    if (input.templateId) {
      const template = await em.findOne(EmailTemplateSchema, { id: input.templateId });
      if (!template) throw notFound('Template');
      if (!body.trim()) {
        body = renderTokens(template.body, q.ctx.values);
        format = 'markdown';
      }
    }
    const signature = await this.#signature(uow, mailbox, input, q.ctx);
    const composed = await composeOffThread(body, format, signature);
    const docs = await this.#attachments(uow, input.attachments ?? [], conversation);
    // A file uploaded for this message is the mailbox's from now on: seen only by those who see it.
    for (const d of docs) if (d.entityType === UPLOAD_ENTITY) d.mailboxId ??= mailbox.id;
    const slug = await this.#slug(uow);
    const inbound = this.#mailboxes.addressOf(slug, mailbox.localPart);
    const fromAddress = mailbox.address ?? inbound;
    // Also for addresses saved before domains needed verifying, or whose domain was removed since.
    if (!(await senderAllowed(em, fromAddress, `${slug}.${this.#inboundDomain}`))) throw senderNotVerified(fromAddress);
    const cc = input.cc ?? [];
    const bcc = input.bcc ?? [];
    const now = new Date();
    const message = em.create(EmailMessageSchema, {
      tenantId: actor.tenantId,
      conversationId: conversation.id,
      mailboxId: mailbox.id,
      direction: 'outbound',
      classification: 'message',
      messageIdHeader: `${randomUUID()}@${slug}.${this.#inboundDomain}`,
      inReplyTo: q.inReplyTo,
      references: q.references,
      fromAddress,
      fromName: mailbox.name,
      to: asAddresses(q.to),
      cc: asAddresses(cc),
      subject: q.subject.slice(0, 998),
      text: composed.text,
      html: composed.html,
      attachments: docs.map((d) => ({
        documentId: d.id,
        fileName: d.fileName,
        contentType: d.fileType ?? 'application/octet-stream',
        size: Number(d.fileSize ?? 0),
        cid: null,
        inline: false,
      })),
      contactId: conversation.contactId ?? null,
      companyId: conversation.companyId ?? null,
      status: 'queued',
      sentBy: authorOf(actor),
    });
    const delivery = em.create(OutboundDeliverySchema, {
      id: message.id,
      tenantId: actor.tenantId,
      bcc: asAddresses(bcc),
      replyTo: fromAddress,
      templateId: input.templateId ?? null,
      headers: q.headers ?? {},
    });
    conversation.participants = [...new Set([...conversation.participants, ...q.to, ...cc])].sort().slice(0, 200);
    conversation.messageCount += 1;
    conversation.lastMessageAt = now;
    conversation.version += 1;
    await em.flush();
    this.#announce(uow, conversation, { messageId: message.id, status: 'queued' }, 'message');
    return this.#dto(message, delivery.bcc, delivery.attempts, delivery.transport ?? null);
  }

  #announce(
    uow: UnitOfWork,
    conversation: Conversation,
    changes: Record<string, unknown>,
    reason: 'message' | 'updated',
  ) {
    const tenantId = uow.actor.tenantId;
    const actorId = authorOf(uow.actor);
    const snapshot = {
      id: conversation.id,
      mailboxId: conversation.mailboxId,
      status: conversation.status,
      assigneeId: conversation.assigneeId ?? null,
      tags: conversation.tags,
      snoozedUntil: conversation.snoozedUntil ?? null,
      lastMessageAt: conversation.lastMessageAt,
      messageCount: conversation.messageCount,
      version: conversation.version,
    };
    uow.afterCommit(() => {
      this.#publisher.recordUpdated(tenantId, {
        type: 'conversation',
        id: conversation.id,
        changes: { ...changes, messageCount: snapshot.messageCount, lastMessageAt: snapshot.lastMessageAt },
        version: snapshot.version,
      });
      this.#publisher.conversation(tenantId, { ...snapshot, reason, actorId });
    });
  }

  #dto(m: EmailMessage, bcc: EmailAddress[], attempts: number, transport: string | null): OutboundMessageDto {
    return {
      id: m.id,
      conversationId: m.conversationId,
      direction: 'outbound',
      messageId: m.messageIdHeader ?? null,
      inReplyTo: m.inReplyTo ?? null,
      references: m.references,
      from: m.fromAddress ? { address: m.fromAddress, name: m.fromName ?? '' } : null,
      to: m.to,
      cc: m.cc,
      bcc,
      subject: m.subject,
      text: m.text ?? null,
      html: m.html ?? null,
      attachments: m.attachments,
      status: m.status ?? null,
      error: m.error ?? null,
      sentAt: m.sentAt ?? null,
      createdAt: m.createdAt,
      sentBy: m.sentBy ?? null,
      attempts,
      transport,
    };
  }

  async #outbound(uow: UnitOfWork, id: string): Promise<EmailMessage> {
    const message = await uow.em.findOne(EmailMessageSchema, { id, direction: 'outbound' });
    if (!message) throw notFound('Message');
    await visibleConversation(uow, this.#mailboxes, message.conversationId).catch(() => {
      throw notFound('Message');
    });
    return message;
  }

  get(actor: Actor, id: string): Promise<OutboundMessageDto> {
    return inTenant(this.#orm, actor, async (uow) => {
      const message = await this.#outbound(uow, id);
      const delivery = await uow.em.findOne(OutboundDeliverySchema, { id });
      return this.#dto(message, delivery?.bcc ?? [], delivery?.attempts ?? 0, delivery?.transport ?? null);
    });
  }

  /** A failed message goes back in the queue. */
  async retry(actor: Actor, id: string): Promise<OutboundMessageDto> {
    requireWrite(actor);
    const dto = await inTenant(this.#orm, actor, async (uow) => {
      const message = await this.#outbound(uow, id);
      await uow.em.execute(`select id from email_messages where id = ? for update`, [id]);
      await uow.em.refresh(message);
      if (message.status !== 'failed')
        throw new HttpError(409, 'not_failed', `This message is ${message.status}, not failed`);
      message.status = 'queued';
      message.error = null;
      await uow.em.flush();
      const conversation = (await uow.em.findOne(ConversationSchema, { id: message.conversationId }))!;
      this.#announce(uow, conversation, { messageId: message.id, status: 'queued' }, 'updated');
      const delivery = await uow.em.findOne(OutboundDeliverySchema, { id });
      return this.#dto(message, delivery?.bcc ?? [], delivery?.attempts ?? 0, delivery?.transport ?? null);
    });
    await this.#enqueue(actor.tenantId, dto.id);
    return dto;
  }

  /** A file for a message being written (before it has a conversation, or from the agent's computer). */
  async upload(actor: Actor, file: { name: string; stream: Readable }) {
    requireWrite(actor);
    const blob = await this.#blobs.put(file.stream, { prefix: actor.tenantId, maxBytes: UPLOAD_MAX_BYTES });
    if (!blob.complete)
      throw new HttpError(413, 'payload_too_large', `Attachments are limited to ${UPLOAD_MAX_BYTES / 1024 / 1024} MB`);
    try {
      const sniffed = await fileTypeFromFile(this.#blobs.path(blob.key));
      return await inTenant(this.#orm, actor, async ({ em }) => {
        const doc = em.create(DocumentSchema, {
          tenantId: actor.tenantId,
          entityType: UPLOAD_ENTITY,
          entityId: actor.userId,
          fileName: truncateFileName(file.name, 255),
          fileType: sniffed?.mime ?? (/\.txt$/i.test(file.name) ? 'text/plain' : 'application/octet-stream'),
          fileSize: blob.size,
          fileUrl: `blob:${blob.key}`,
          sha256: blob.sha256,
          category: 'other',
          uploadedBy: actor.userId,
        });
        await em.flush();
        return { id: doc.id, fileName: doc.fileName, fileType: doc.fileType, fileSize: blob.size };
      });
    } catch (err) {
      await this.#blobs.remove(blob.key);
      throw err;
    }
  }

  /**
   * The send job: claims the message (queued -> sending), sends it outside any transaction, records the outcome.
   * A permanent refusal (5xx) or the last attempt marks it failed; a temporary one throws for pg-boss to retry.
   */
  async send(job: OutboundJob, opts: { final: boolean }): Promise<'sent' | 'failed' | 'skipped'> {
    const actor = systemActor(job.tenantId, 'Filo mail');
    const claimed = await inTenant(this.#orm, actor, async (uow) => {
      const [row] = (await uow.em.execute(
        `select status from email_messages where id = ? and direction = 'outbound' for update`,
        [job.messageId],
      )) as { status: string }[];
      if (!row) return null;
      const delivery = await uow.em.findOne(OutboundDeliverySchema, { id: job.messageId });
      const stale =
        row.status === 'sending' &&
        (!delivery?.lastAttemptAt || Date.now() - delivery.lastAttemptAt.getTime() > STALE_SENDING_MS);
      if (row.status !== 'queued' && !stale) return null;
      const message = (await uow.em.findOne(EmailMessageSchema, { id: job.messageId }))!;
      const mailbox = (await uow.em.findOne(MailboxSchema, { id: message.mailboxId }))!;
      const docs = message.attachments.length
        ? await uow.em.find(DocumentSchema, { id: { $in: message.attachments.map((a) => a.documentId) } })
        : [];
      message.status = 'sending';
      // As sent: the writer's remote images load; a tracking mailbox adds its pixel and tracked links.
      let html = message.html
        ? message.html.replace(/\sdata-remote-src="/g, ' src="').replace(/\sdata-remote-background="/g, ' background="')
        : null;
      if (html && this.#tracking) {
        const tracked = this.#tracking.apply(html, message.id, mailbox);
        html = tracked.html;
        message.trackedLinks = tracked.links;
      }
      if (delivery) {
        delivery.attempts += 1;
        delivery.lastAttemptAt = new Date();
      }
      await uow.em.flush();
      return { message, mailbox, delivery, docs, html };
    });
    if (!claimed) return 'skipped';
    const { message, mailbox, delivery, docs, html } = claimed;
    const fromAddress = message.fromAddress!;
    const bracket = (id: string) => `<${id}>`;
    const mail: Mail.Options = {
      from: { name: message.fromName ?? '', address: fromAddress },
      replyTo: delivery?.replyTo ?? fromAddress,
      to: message.to.map((a) => (a.name ? { name: a.name, address: a.address } : a.address)),
      cc: message.cc.map((a) => a.address),
      bcc: (delivery?.bcc ?? []).map((a) => a.address),
      subject: message.subject,
      text: message.text ?? '',
      ...(html ? { html } : {}),
      messageId: bracket(message.messageIdHeader!),
      ...(message.inReplyTo ? { inReplyTo: bracket(message.inReplyTo) } : {}),
      ...(message.references.length ? { references: message.references.map(bracket) } : {}),
      date: new Date(),
      ...(delivery && Object.keys(delivery.headers).length ? { headers: delivery.headers } : {}),
      attachments: docs.map((d) => ({
        filename: d.fileName,
        contentType: d.fileType ?? 'application/octet-stream',
        content: this.#blobs.open(d.fileUrl.replace(/^blob:/, '')),
      })),
    };
    try {
      // `"a<b>c"@x` would go out as `"a b c"@x`, someone else's mailbox: refused for good instead.
      const unsendable = [...message.to, ...message.cc, ...(delivery?.bcc ?? [])].find((a) =>
        UNSENDABLE.test(a.address),
      );
      if (unsendable)
        throw Object.assign(new Error(`${unsendable.address}: an address with < or > cannot be sent to exactly`), {
          code: 'EENVELOPE',
        });
      const dkim = dkimOf(mailbox, fromAddress, this.#secrets);
      if (dkim) mail.dkim = dkim;
      const result = await this.#mailer.deliver(mail, {
        smtp: smtpOf(mailbox, this.#secrets),
        tenantId: job.tenantId,
      });
      await inTenant(this.#orm, actor, (uow) => this.#sent(uow, message.id, result));
      return 'sent';
    } catch (err) {
      const e = err as { message?: string; response?: string; responseCode?: number };
      const reason = (e.response || e.message || String(err)).slice(0, 2000);
      const giveUp = permanent(err) || opts.final;
      this.#log.warn({ messageId: message.id, reason, giveUp }, 'outbound message not sent');
      await inTenant(this.#orm, actor, async (uow) => {
        const row = await uow.em.findOne(EmailMessageSchema, { id: message.id });
        if (!row) return;
        row.status = giveUp ? 'failed' : 'queued';
        row.error = giveUp ? reason : `${reason} (trying again shortly)`;
        const d = await uow.em.findOne(OutboundDeliverySchema, { id: message.id });
        if (d) d.response = reason;
        await uow.em.flush();
        const conversation = await uow.em.findOne(ConversationSchema, { id: row.conversationId });
        if (conversation)
          this.#announce(uow, conversation, { messageId: row.id, status: row.status, error: row.error }, 'updated');
      });
      if (!giveUp) throw err;
      return 'failed';
    }
  }

  async #sent(uow: UnitOfWork, id: string, result: { transport: string; response: string }) {
    const { em } = uow;
    const message = (await em.findOne(EmailMessageSchema, { id }))!;
    message.status = 'sent';
    message.error = null;
    message.sentAt = new Date();
    const delivery = await em.findOne(OutboundDeliverySchema, { id });
    if (delivery) {
      delivery.response = result.response.slice(0, 2000);
      delivery.transport = result.transport;
    }
    await em.flush();
    const to = fmt(message.to);
    // The timeline names the agent who wrote it, not the job that sent it.
    let author: Actor = uow.actor;
    if (message.sentBy) {
      const [user] = (await em.execute(`select name from users where id = ?`, [message.sentBy])) as { name: string }[];
      author = { ...uow.actor, userId: message.sentBy, userName: user?.name ?? '' };
      delete author.system;
    }
    await this.#activities.record(
      { ...uow, actor: author },
      {
        entityType: message.contactId ? 'contact' : message.companyId ? 'company' : 'conversation',
        entityId: message.contactId ?? message.companyId ?? message.conversationId,
        companyId: message.companyId ?? null,
        type: 'email.sent',
        title: `Email to ${to}: ${message.subject}`,
        description: (message.text ?? '').replace(/\s+/g, ' ').trim().slice(0, 200),
        data: {
          conversationId: message.conversationId,
          emailMessageId: message.id,
          mailboxId: message.mailboxId,
          messageId: message.messageIdHeader,
          to: message.to,
          cc: message.cc,
          subject: message.subject,
          attachments: message.attachments.length,
          transport: result.transport,
        },
      },
    );
    const conversation = await em.findOne(ConversationSchema, { id: message.conversationId });
    if (conversation) this.#announce(uow, conversation, { messageId: id, status: 'sent' }, 'updated');
  }

  /** Outbound messages still queued (after a restart: their job may have died with a worker). */
  static readonly PENDING_SQL = `select id, tenant_id from email_messages
     where direction = 'outbound' and status in ('queued', 'sending') order by created_at limit 10000`;
}
