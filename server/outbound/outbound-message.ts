// The outbound message as the API returns it, and the conversation update every state change announces.
import type { Conversation } from '../../db/entities/conversation.entity.ts';
import { type EmailAddress, type Message, emailOf } from '../../db/entities/message.entity.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { authorOf, type UnitOfWork } from '../tenancy.ts';

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
  attachments: Message['attachments'];
  status: string | null;
  error: string | null;
  sentAt: Date | null;
  createdAt: Date;
  sentBy: string | null;
  attempts: number;
  transport: string | null;
}

export function announceConversation(
  publisher: Publisher,
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
    publisher.recordUpdated(tenantId, {
      type: 'conversation',
      id: conversation.id,
      changes: { ...changes, messageCount: snapshot.messageCount, lastMessageAt: snapshot.lastMessageAt },
      version: snapshot.version,
    });
    publisher.conversation(tenantId, { ...snapshot, reason, actorId });
  });
}

export function outboundDto(
  m: Message,
  bcc: EmailAddress[],
  attempts: number,
  transport: string | null,
): OutboundMessageDto {
  return {
    id: m.id,
    conversationId: m.conversationId,
    direction: 'outbound',
    messageId: m.messageIdHeader ?? null,
    inReplyTo: emailOf(m).inReplyTo ?? null,
    references: emailOf(m).references,
    from: m.fromAddress ? { address: m.fromAddress, name: m.fromName ?? '' } : null,
    to: emailOf(m).to,
    cc: emailOf(m).cc,
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
