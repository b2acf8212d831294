// What every writer of a conversation says about a change: its status activity, and the announcement after commit.
import type { Conversation } from '../../db/entities/conversation.entity.ts';
import { authorOf, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { ConversationChanged, Publisher } from '../timeline/publisher.ts';

const VERB: Record<string, string> = {
  open: 'reopened',
  pending: 'marked as pending',
  closed: 'closed',
  snoozed: 'snoozed',
};

/** `conversation.status_changed` on the conversation, in the caller's transaction. */
export async function statusActivity(
  activities: ActivitiesService,
  uow: UnitOfWork,
  c: Conversation,
  from: string,
  why?: string,
): Promise<void> {
  await activities.record(uow, {
    entityType: 'conversation',
    entityId: c.id,
    companyId: null,
    type: 'conversation.status_changed',
    title: `${uow.actor.userName} ${VERB[c.status] ?? c.status} “${c.subject}”`,
    data: {
      conversationId: c.id,
      mailboxId: c.mailboxId,
      subject: c.subject,
      from,
      to: c.status,
      snoozedUntil: c.snoozedUntil ?? null,
      ...(why ? { reason: why } : {}),
    },
  });
}

/** After commit: the conversation's room hears `record:updated`, its mailbox's lists `conversation:updated`. */
export function announceChange(
  publisher: Publisher,
  uow: UnitOfWork,
  c: Conversation,
  reason: ConversationChanged['reason'],
  changes: Record<string, unknown>,
): void {
  // A snapshot now: the entity may change again before the transaction commits.
  const change: ConversationChanged = {
    id: c.id,
    mailboxId: c.mailboxId,
    status: c.status,
    assigneeId: c.assigneeId ?? null,
    tags: c.tags,
    snoozedUntil: c.snoozedUntil ?? null,
    lastMessageAt: c.lastMessageAt,
    messageCount: c.messageCount,
    version: c.version,
    reason,
    actorId: authorOf(uow.actor),
  };
  const tenantId = uow.actor.tenantId;
  uow.afterCommit(() => {
    publisher.recordUpdated(tenantId, { type: 'conversation', id: c.id, changes, version: change.version });
    publisher.conversation(tenantId, change);
  });
}
