import { randomUUID } from 'node:crypto';
import { DocumentSchema } from '../../../db/entities/document.entity.ts';
import type { EmailAttachment } from '../../../db/entities/message.entity.ts';
import { earlierOf, received, type Earlier } from './earlier.ts';
import { InboundMessageSchema, type InboundMessage } from '../../../db/entities/inbound-message.entity.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';
import type { ConversationsService } from '../conversations.service.ts';
import type { RecordsService } from '../../crm/records.service.ts';
import type { StoredBlob } from '../../storage/blob-store.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import { markProcessed, type BatchMailbox, type LockedInbound } from './batch-rows.ts';
import { linkSender, markBouncing } from './link.ts';
import {
  accountOf,
  counterparts,
  linkCounterpart,
  recordSent,
  sameMessage,
  sentByAccount,
  writtenAt,
} from './account-mail.ts';
import type { AuthVerdicts } from '../../../mail/authenticate.ts';
import type { MailClass } from '../../../mail/classify.ts';
import type { ParsedMail } from '../../../mail/parse.ts';
import type { ReadResult } from './worker-pool.ts';
import { normalizeSubject, participantsOf } from '../../../mail/subject.ts';
import { findThread } from './thread.ts';
import type { BulkMailFeedback } from './bulk-feedback.ts';
import { truncateFileName, truncateGraphemes } from '../../text.ts';

/** `sent`: mail a member sent, found in their account; `internal` and `blocked` stay out of the CRM. */
export type ProcessOutcome =
  'processed' | 'sent' | 'duplicate' | 'bounce' | 'auto_reply' | 'internal' | 'blocked' | 'already_done' | 'gone';

/** What the write of a message works with: the services it writes through, and the gateway's domain. */
export interface WriteDeps {
  records: RecordsService;
  activities: ActivitiesService;
  conversations: Pick<ConversationsService, 'openOrAppend'>;
  bulk: BulkMailFeedback | null;
  inboundDomain: string | null;
}

/** What processing records on the inbound row. */
type Done = Parameters<typeof markProcessed>[3];

const snippet = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);

/**
 * A batch's say in a write's flush: `on`, the new contact, conversation and message of this message may wait for the
 * batch's next flush (one insert per table for many messages); the write sets `left` when it left rows unflushed.
 */
export interface Deferral {
  on: boolean;
  left: boolean;
}

/**
 * Writes one read message in the caller's transaction: locks the inbound row, re-checks it was not processed
 * meanwhile, then classifies the outcome and writes conversation, message, documents and timeline.
 */
export async function writeInbound(
  d: WriteDeps,
  uow: UnitOfWork,
  rows: { inbound: InboundMessage; locked: LockedInbound | undefined; mailbox: BatchMailbox | undefined },
  mail: ParsedMail,
  kind: MailClass,
  auth: AuthVerdicts,
  ready: { id: string; clean: ReadResult['clean'] },
  defer: Deferral = { on: false, left: false },
): Promise<ProcessOutcome> {
  const { em } = uow;
  const { inbound, locked, mailbox } = rows;
  // Locked by the batch, to commit: a second job for the same message waits there, then finds it processed.
  if (!locked) return 'gone';
  if (locked.status === 'processed') return 'already_done';
  if (!mailbox) return 'gone';
  const recorded: { fields?: Done } = {};
  const outcome = await writeRead(d, uow, { inbound, mailbox }, mail, kind, auth, ready, defer, (f) => {
    recorded.fields = f;
  });
  if (!defer.left) await em.flush();
  if (recorded.fields) markProcessed(uow, inbound.id, locked, recorded.fields);
  return outcome;
}

/** The write of a message whose inbound row is locked and not yet processed; `done` says what to record on it. */
async function writeRead(
  d: WriteDeps,
  uow: UnitOfWork,
  { inbound, mailbox }: { inbound: InboundMessage; mailbox: BatchMailbox },
  mail: ParsedMail,
  kind: MailClass,
  auth: AuthVerdicts,
  ready: { id: string; clean: ReadResult['clean'] },
  defer: Deferral,
  done: (f: Done) => void,
): Promise<ProcessOutcome> {
  const { em } = uow;
  const problems = mail.problems.length ? { problems: mail.problems.slice(0, 50) } : {};

  const bulk = await d.bulk?.handle(uow, { inboundId: inbound.id, rcptTo: inbound.rcptTo, mail, kind });
  if (bulk || kind.kind === 'complaint') {
    // feedback on bulk mail, and any spam complaint: recorded on the inbound row, never a conversation
    done({ classification: bulk?.classification ?? 'auto_reply', details: { ...problems, ...bulk?.details } });
    return bulk?.outcome ?? 'auto_reply';
  }

  if (kind.kind === 'bounce') {
    // only a hard bounce marks the address; a delay or a full mailbox passes
    const bounced = await markBouncing(
      uow,
      kind.failures.filter((f) => f.permanent),
    );
    for (const contactId of bounced) {
      const contact = await d.records.find(uow, 'contact', contactId);
      await d.activities.record(uow, {
        entityType: 'contact',
        entityId: contactId,
        companyId: (contact.companyId as string | null) ?? null,
        type: 'email.bounced',
        title: `Mail to ${String(contact.email)} bounced`,
        data: {
          to: contact.email,
          status: kind.status,
          action: kind.action,
          reason: contact.emailBounceReason ?? null,
          inboundId: inbound.id,
        },
        mailboxId: mailbox.id,
      });
    }
    done({
      classification: 'bounce',
      details: {
        ...problems,
        status: kind.status,
        action: kind.action,
        recipients: kind.recipients,
        failures: kind.failures,
        bounced,
      },
    });
    return 'bounce';
  }

  const notices = [...mail.notices];
  const acct = await accountOf(uow, inbound);
  if (acct) {
    // One message per Message-ID in the workspace: the same mail in two accounts, or the Sent copy of Filo's own.
    const same = await sameMessage(uow, mail, mailbox.id);
    if (same.duplicate) {
      const dup = same.duplicate;
      done({ classification: 'message', emailMessageId: dup, details: { ...problems, duplicateOf: dup } });
      return 'duplicate';
    }
    if (same.collision) notices.push('duplicate_message_id');
  } else if (mail.messageId) {
    const same = await earlierOf(uow, mailbox.id, mail.messageId);
    const dup = await trueDuplicate(uow, same, inbound.sha256 ?? null, mail);
    if (dup) {
      done({ classification: 'message', emailMessageId: dup.id, details: { ...problems, duplicateOf: dup.id } });
      return 'duplicate';
    }
    // Another message under a Message-ID we already have: kept, and said so.
    if (same.length) notices.push('duplicate_message_id');
  }

  const sent = acct ? sentByAccount(acct, mail) : false;
  const party = await counterparts(uow, mail, acct, { sent, inboundDomain: d.inboundDomain });
  if (party.excluded) {
    // Internal or blocklisted: recorded on the inbound row only, never a contact, conversation or timeline entry.
    done({ classification: party.excluded, details: { ...problems, subject: mail.subject } });
    return party.excluded;
  }

  const normalizedSubject = normalizeSubject(mail.subject);
  const participants = participantsOf(mail);
  const thread = await findThread(uow, {
    mailboxId: mailbox.id,
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    normalizedSubject,
    participants,
    sender: mail.from?.address ?? null,
    ownAddresses: [...inbound.rcptTo, ...(acct?.own ?? [])],
  });
  const existing = thread.conversation;

  if (kind.kind === 'auto_reply' && !existing && !sent) {
    // Out-of-office and list mail about no conversation: recorded, never a new one (a bulk send may hear of it).
    await d.bulk?.autoReplied(uow, mail);
    done({ classification: 'auto_reply', details: { ...problems, reason: kind.reason, subject: mail.subject } });
    return 'auto_reply';
  }

  const createContacts = mailbox.createContacts;
  const link =
    kind.kind !== 'message' && !sent
      ? { contactId: existing?.contactId ?? null, companyId: existing?.companyId ?? null }
      : acct
        ? await linkCounterpart(uow, d.records, mail, party.addresses, { createContacts })
        : await linkSender(uow, d.records, mail.from, { createContacts, deferFlush: defer.on });
  // chosen now: attachments without a contact are filed on the conversation
  const conversationId = existing?.id ?? randomUUID();
  const subject = truncateGraphemes(mail.subject || '(no subject)', 998);
  const attachments: EmailAttachment[] = [];
  for (const a of mail.attachments) {
    const blob = a.stored as StoredBlob | null;
    if (!blob) continue;
    const doc = em.create(DocumentSchema, {
      tenantId: uow.actor.tenantId,
      entityType: link.contactId ? 'contact' : 'conversation',
      entityId: link.contactId ?? conversationId,
      fileName: truncateFileName(a.fileName || 'attachment', 255),
      fileType: a.contentType.slice(0, 100),
      fileSize: blob.size,
      fileUrl: `blob:${blob.key}`,
      sha256: blob.sha256,
      category: 'other',
      uploadedBy: null,
      // Seen only by those who see the mailbox, though filed on the contact.
      mailboxId: mailbox.id,
    });
    attachments.push({
      documentId: doc.id,
      fileName: doc.fileName,
      contentType: a.contentType,
      size: blob.size,
      cid: a.cid,
      inline: a.inline,
    });
  }
  let html: { html: string | null; hasRemoteImages: boolean } = { html: null, hasRemoteImages: false };
  if (ready.clean) {
    const clean = ready.clean;
    // HTML that lost most of its words in cleaning is not the message: the plain-text alternative is shown instead
    if (clean.lostText && mail.text?.trim()) notices.push('html_replaced_by_text');
    else html = { html: clean.html, hasRemoteImages: clean.hasRemoteImages };
  }
  const {
    conversation,
    message: messageRow,
    opened,
  } = await d.conversations.openOrAppend(uow, {
    deferFlush: defer.on,
    mailboxId: mailbox.id,
    conversationId: existing?.id ?? null,
    open: {
      id: conversationId,
      subject,
      normalizedSubject: normalizedSubject.slice(0, 998),
      relatedConversationId: thread.related,
    },
    author: sent ? 'team' : kind.kind === 'message' ? 'customer' : 'automatic',
    direction: sent ? 'outbound' : 'inbound',
    participants,
    link,
    // the gateway's mail in the order it was accepted: batches processed side by side may write it in another
    at: acct ? writtenAt(mail) : inbound.createdAt,
    message: {
      id: ready.id,
      inboundMessageId: inbound.id,
      classification: kind.kind === 'auto_reply' && !sent ? 'auto_reply' : 'message',
      // written by the account's owner, already delivered by their provider
      ...(sent ? { status: 'sent' as const, sentBy: acct!.account.ownerId ?? null } : {}),
      messageIdHeader: mail.messageId,
      fromAddress: mail.from?.address ?? null,
      fromName: mail.from?.name ? truncateGraphemes(mail.from.name, 255) : null,
      subject,
      text: mail.text,
      ...html,
      sentAt: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null,
      email: { inReplyTo: mail.inReplyTo, references: mail.references.slice(-100), to: mail.to, cc: mail.cc, auth },
      attachments,
      notices: [...new Set(notices)],
      contactId: link.contactId,
      companyId: link.companyId,
    },
  });

  // appending flushed everything this message (and the batch before it) wrote; a new conversation waits
  defer.left = defer.on && opened;
  if (messageRow.direction === 'inbound' && mail.messageId)
    received(uow, mailbox.id, mail.messageId, {
      id: messageRow.id,
      inbound_message_id: inbound.id,
      from_address: messageRow.fromAddress ?? null,
      subject: messageRow.subject,
      text: messageRow.text ?? null,
    });
  if (sent) {
    await recordSent(uow, d.activities, acct!, { conversation, message: messageRow, link, mail, attachments });
    done({ classification: 'message', emailMessageId: messageRow.id, details: problems });
    return 'sent';
  }
  // a person answering a bulk message (never an out-of-office): the send's replies
  if (kind.kind === 'message') await d.bulk?.replied(uow, mail);
  else await d.bulk?.autoReplied(uow, mail);
  const from = mail.from ? mail.from.name || mail.from.address : 'unknown sender';
  await d.activities.record(uow, {
    entityType: link.contactId ? 'contact' : link.companyId ? 'company' : 'conversation',
    entityId: link.contactId ?? link.companyId ?? conversation.id,
    companyId: link.companyId,
    type: kind.kind === 'auto_reply' ? 'email.auto_reply' : 'email.received',
    title: `Email from ${from}: ${messageRow.subject}`,
    description: snippet(mail.text),
    data: {
      conversationId: conversation.id,
      emailMessageId: messageRow.id,
      mailboxId: mailbox.id,
      messageId: mail.messageId,
      from: mail.from,
      subject: messageRow.subject,
      attachments: attachments.length,
      auth: { spf: auth.spf, dkim: auth.dkim, dmarc: auth.dmarc },
    },
  });
  done({ classification: messageRow.classification, emailMessageId: messageRow.id, details: problems });
  return kind.kind === 'auto_reply' ? 'auto_reply' : 'processed';
}

/** The earlier message this one is a copy of: the same raw bytes, or the same sender, subject and text. */
async function trueDuplicate(
  uow: UnitOfWork,
  same: Earlier[],
  sha256: string | null,
  mail: ParsedMail,
): Promise<Earlier | null> {
  if (!same.length) return null;
  const ids = same.map((m) => m.inbound_message_id).filter((id): id is string => Boolean(id));
  const raw = ids.length ? await uow.em.find(InboundMessageSchema, { id: { $in: ids }, sha256 }) : [];
  const byRaw = same.find((m) => raw.some((r) => r.id === m.inbound_message_id));
  if (byRaw) return byRaw;
  const subject = truncateGraphemes(mail.subject || '(no subject)', 998);
  return (
    same.find(
      (m) =>
        (m.from_address ?? null) === (mail.from?.address ?? null) &&
        m.subject === subject &&
        (m.text ?? '').trim() === (mail.text ?? '').trim(),
    ) ?? null
  );
}
