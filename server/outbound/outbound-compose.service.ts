// Composing a message: recipients, threading headers, template and signature, attachments, then stored as queued.
import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import type { newMessageInput, replyInput } from '#contracts/outbound';
import { ContactSchema } from '../../db/entities/contact.entity.ts';
import type { Conversation } from '../../db/entities/conversation.entity.ts';
import { DocumentSchema, type Document } from '../../db/entities/document.entity.ts';
import { MessageSchema, type EmailAddress, emailOf } from '../../db/entities/message.entity.ts';
import { EmailTemplateSchema } from '../../db/entities/email-template.entity.ts';
import type { Mailbox } from '../../db/entities/mailbox.entity.ts';
import { OutboundDeliverySchema } from '../../db/entities/outbound-delivery.entity.ts';
import { normalizeSubject } from '../../mail/subject.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import type { ConversationsService } from '../inbox/conversations.service.ts';
import { authorOf, type Actor, type UnitOfWork } from '../tenancy.ts';
import { composeOffThread } from './compose.ts';
import { checkTokens, tokenContext, visibleConversation, type TokenContext } from './context.ts';
import { outboundDto, type OutboundMessageDto } from './outbound-message.ts';
import { UPLOAD_ENTITY } from './outbound-uploads.ts';
import type { SignaturesService } from './signatures.service.ts';
import { renderTokens } from './tokens.ts';
import { senderAllowed, senderNotVerified } from './sending-domains.service.ts';
import { mailboxFilter, visibleMailboxes } from '../timeline/mailbox-visibility.ts';
import { fromAddressOf, sendingAccount, type SendingAccount } from '../accounts/send.ts';
import { domainOf } from '../delivery/transport-settings.ts';

export { newMessageInput, replyInput } from '#contracts/outbound';

export type ComposeInput = z.infer<typeof replyInput>;

/** A message going out through a member's account, as one of its addresses. */
type Via = SendingAccount & { address: string };

const asAddresses = (list: string[]): EmailAddress[] => list.map((a) => ({ address: a, name: '' }));
const replySubject = (s: string) => (/^\s*re\s*:/i.test(s) ? s : `Re: ${s}`);

/** Runs inside the caller's transaction; the facade checks write access and queues the send job after commit. */
export class OutboundCompose {
  readonly #mailboxes: MailboxesService;
  readonly #signatures: SignaturesService;
  readonly #conversations: Pick<ConversationsService, 'openOrAppend'>;
  readonly #inboundDomain: string;

  constructor(deps: {
    mailboxes: MailboxesService;
    signatures: SignaturesService;
    conversations: Pick<ConversationsService, 'openOrAppend'>;
    inboundDomain: string;
  }) {
    this.#mailboxes = deps.mailboxes;
    this.#signatures = deps.signatures;
    this.#conversations = deps.conversations;
    this.#inboundDomain = deps.inboundDomain;
  }

  async #slug(uow: UnitOfWork): Promise<string> {
    const [row] = (await uow.em.execute(`select slug from tenants where id = ?`, [uow.actor.tenantId])) as {
      slug: string;
    }[];
    return row!.slug;
  }

  /** A reply in a conversation: to the customer's last message, with In-Reply-To and References. */
  async reply(
    uow: UnitOfWork,
    conversationId: string,
    input: ComposeInput,
    headers: Record<string, string>,
  ): Promise<OutboundMessageDto> {
    const { conversation, mailbox } = await visibleConversation(uow, this.#mailboxes, conversationId);
    const via = await this.#via(uow, mailbox, input.from);
    // Replies to one conversation queue one after another: each sees the one before as part of the thread.
    await uow.em.lock(conversation, LockMode.PESSIMISTIC_WRITE);
    const messages = await uow.em.find(
      MessageSchema,
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
        : (emailOf(messages.find((m) => m.direction === 'outbound') ?? {}).to.map((a) => a.address) ?? []));
    if (!to.length)
      throw new HttpError(400, 'validation_failed', 'Nobody to reply to: give the recipients', { to: 'is required' });
    const references = parent
      ? [
          ...new Set([...emailOf(parent).references, ...(parent.messageIdHeader ? [parent.messageIdHeader] : [])]),
        ].slice(-20)
      : [];
    const ctx = await tokenContext(uow, this.#mailboxes, { conversationId: conversation.id });
    return this.#queue(uow, {
      mailbox,
      via,
      conversation,
      ctx,
      input,
      to,
      subject: replySubject(conversation.subject),
      inReplyTo: parent?.messageIdHeader ?? null,
      references,
      headers,
    });
  }

  /** A new conversation, started by us. */
  async start(uow: UnitOfWork, actor: Actor, input: z.infer<typeof newMessageInput>): Promise<OutboundMessageDto> {
    const chosen = input.from ? await sendingAccount(uow, { accountId: input.from.accountId }) : null;
    if (chosen && input.mailboxId && input.mailboxId !== chosen.mailbox.id)
      throw new HttpError(
        400,
        'from_mailbox_mismatch',
        'A new message from an account starts in the account’s mailbox',
        {
          mailboxId: 'leave it out, or give the account’s own mailbox',
        },
      );
    const mailbox = await this.#mailboxes.findVisible(uow, chosen?.mailbox.id ?? input.mailboxId!);
    const via = await this.#via(uow, mailbox, input.from);
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
    return this.#queue(uow, {
      mailbox,
      via,
      conversation: null,
      open: {
        subject: subject.slice(0, 998),
        normalizedSubject: normalizeSubject(subject).slice(0, 998),
        assigneeId: authorOf(actor),
      },
      link: { contactId, companyId: ctx.contact?.companyId ?? null },
      ctx,
      input,
      to: input.to,
      subject,
      inReplyTo: null,
      references: [],
    });
  }

  /**
   * The account a message goes out through: the one chosen as From, else the conversation's own account (a reply in
   * an account's mailbox leaves through it); null for a shared mailbox's own transport.
   */
  async #via(uow: UnitOfWork, mailbox: Mailbox, from: ComposeInput['from']): Promise<Via | null> {
    const found = from
      ? await sendingAccount(uow, { accountId: from.accountId })
      : mailbox.kind === 'account'
        ? await sendingAccount(uow, { mailboxId: mailbox.id })
        : null;
    if (!found) {
      if (mailbox.kind === 'account') throw notFound('Email account');
      return null;
    }
    return { ...found, address: fromAddressOf(found.account, from?.address) };
  }

  async #signature(uow: UnitOfWork, mailbox: Mailbox, input: ComposeInput, ctx: TokenContext): Promise<string | null> {
    let text: string | null;
    if (input.signature !== undefined) text = input.signature;
    else if (input.signatureId) text = (await this.#signatures.usable(uow, input.signatureId)).body;
    else text = (await this.#signatures.choose(uow, mailbox.id))?.body ?? null;
    if (!text?.trim()) return null;
    return checkTokens('signature', () => renderTokens(text, ctx.values));
  }

  async #attachments(
    uow: UnitOfWork,
    ids: string[],
    conversation: { id: string | null; contactId: string | null; companyId: string | null },
  ): Promise<Document[]> {
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
      (conversation.id !== null && d.entityType === 'conversation' && d.entityId === conversation.id) ||
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
      /** The member's account it leaves through; null: the mailbox's transport. */
      via: Via | null;
      /** The conversation replied in; null with `open` and `link` for a new one. */
      conversation: Conversation | null;
      open?: { subject: string; normalizedSubject: string; assigneeId: string | null };
      link?: { contactId: string | null; companyId: string | null };
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
    const { mailbox, input } = q;
    const link = q.conversation
      ? { contactId: q.conversation.contactId ?? null, companyId: q.conversation.companyId ?? null }
      : (q.link ?? { contactId: null, companyId: null });
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
    const docs = await this.#attachments(uow, input.attachments ?? [], { id: q.conversation?.id ?? null, ...link });
    // A file uploaded for this message is the mailbox's from now on: seen only by those who see it.
    for (const d of docs) if (d.entityType === UPLOAD_ENTITY) d.mailboxId ??= mailbox.id;
    const slug = await this.#slug(uow);
    const inbound = this.#mailboxes.addressOf(slug, mailbox.localPart);
    const fromAddress = q.via?.address ?? mailbox.address ?? inbound;
    // Also for addresses saved before domains needed verifying, or whose domain was removed since; an account's
    // own addresses are its provider's to vouch for.
    if (!q.via && !(await senderAllowed(em, fromAddress, `${slug}.${this.#inboundDomain}`)))
      throw senderNotVerified(fromAddress);
    // Filo's own Message-ID, kept on the row: the copy the account's Sent folder syncs back is known by it.
    const idDomain = q.via ? domainOf(fromAddress) : `${slug}.${this.#inboundDomain}`;
    const cc = input.cc ?? [];
    const bcc = input.bcc ?? [];
    const { message } = await this.#conversations.openOrAppend(uow, {
      mailboxId: mailbox.id,
      conversationId: q.conversation?.id ?? null,
      ...(q.open ? { open: q.open } : {}),
      author: 'team',
      direction: 'outbound',
      participants: [...q.to, ...cc],
      link,
      at: new Date(),
      message: {
        classification: 'message',
        messageIdHeader: `${randomUUID()}@${idDomain}`,
        fromAddress,
        fromName: q.via ? (q.via.account.displayName ?? '') : mailbox.name,
        email: {
          inReplyTo: q.inReplyTo,
          references: q.references,
          to: asAddresses(q.to),
          cc: asAddresses(cc),
          auth: null,
        },
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
        contactId: link.contactId,
        companyId: link.companyId,
        status: 'queued',
        sentBy: authorOf(actor),
      },
      announce: { status: 'queued' },
    });
    const delivery = em.create(OutboundDeliverySchema, {
      id: message.id,
      tenantId: actor.tenantId,
      bcc: asAddresses(bcc),
      replyTo: fromAddress,
      accountId: q.via?.account.id ?? null,
      templateId: input.templateId ?? null,
      headers: q.headers ?? {},
    });
    await em.flush();
    return outboundDto(message, delivery.bcc, delivery.attempts, delivery.transport ?? null);
  }
}
