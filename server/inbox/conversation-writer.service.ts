import { ReferenceKind, type EntityDictionary, type RequiredEntityData } from '@mikro-orm/core';
import type { Channel } from '#contracts/common';
import { ConversationSchema, type Conversation } from '../../db/entities/conversation.entity.ts';
import { MessageSchema, type Message } from '../../db/entities/message.entity.ts';
import { notFound } from '../http/errors.ts';
import type { UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { announceChange, statusActivity } from './conversation-events.ts';
import { prepared, runPrepared, type PreparedStatement } from '../db-hot/prepared.ts';
import type { EntityManager } from '@mikro-orm/postgresql';

let lockedRead: PreparedStatement | undefined;
/**
 * The conversation's row, locked to commit: its columns named from the entity's metadata (a column added later
 * changes the statement's text and so its name, never the result type of a statement a connection prepared).
 */
function lockedConversation(em: EntityManager): PreparedStatement {
  if (!lockedRead) {
    const meta = em.getMetadata().get(ConversationSchema);
    const columns = meta.props
      .filter((p) => p.kind === ReferenceKind.SCALAR || p.kind === ReferenceKind.MANY_TO_ONE)
      .flatMap((p) => p.fieldNames)
      .map((c) => `"${c}"`);
    lockedRead = prepared(`select ${columns.join(', ')} from conversations where id = $1 for update`);
  }
  return lockedRead;
}

/** The message's own fields; the writer sets where it belongs (tenant, conversation, mailbox, direction). */
export type MessageFields = Omit<
  RequiredEntityData<Message>,
  'tenantId' | 'conversationId' | 'mailboxId' | 'direction'
>;

export interface OpenOrAppend {
  /** The channel a new conversation runs on (email unless said). */
  channel?: Channel;
  mailboxId: string;
  /** The conversation the message continues (threading found it, or it is a reply in it); null opens a new one. */
  conversationId: string | null;
  /** A new conversation: its subject, and optionally its id (chosen early when documents point at it). */
  open?: {
    id?: string;
    subject: string;
    normalizedSubject: string;
    relatedConversationId?: string | null;
    assigneeId?: string | null;
  };
  /**
   * Who wrote it. A customer's message reopens a closed or snoozed conversation; an automatic one (out-of-office,
   * list mail) and our own outbound never change its status: closing and snoozing are the team's decisions.
   */
  author: 'customer' | 'automatic' | 'team';
  direction: 'inbound' | 'outbound';
  /** Addresses the message adds to the conversation's participants. */
  participants: string[];
  /** The customer it is with; fills the conversation's link when it had none. */
  link: { contactId: string | null; companyId: string | null };
  message: MessageFields;
  at: Date;
  /** Extra fields of the `record:updated` announcement (an outbound message's id and delivery status). */
  announce?: Record<string, unknown>;
  /**
   * A new conversation and its first message are left to the caller's flush (a batch of inbound mail writes many
   * in one). Appending always flushes: the conversation's row is locked and its version checked there.
   */
  deferFlush?: boolean;
}

export interface Appended {
  conversation: Conversation;
  message: Message;
  opened: boolean;
  reopened: boolean;
}

/**
 * The only writer of conversations' messages: finds (under its row lock) or opens the conversation, appends the
 * message, applies the reopen rule, writes the status activity in the same transaction and announces after commit.
 */
export class ConversationWriter {
  readonly #activities: ActivitiesService;
  readonly #publisher: Publisher;

  constructor(deps: { activities: ActivitiesService; publisher: Publisher }) {
    this.#activities = deps.activities;
    this.#publisher = deps.publisher;
  }

  async openOrAppend(uow: UnitOfWork, input: OpenOrAppend): Promise<Appended> {
    const { em, actor } = uow;
    const participants = (existing: string[]) =>
      [...new Set([...existing, ...input.participants])].sort().slice(0, 200);
    let conversation: Conversation;
    let opened = false;
    let from: string | null = null;
    if (input.conversationId) {
      // Held to commit: messages appended at once to one conversation count and reopen in order. The row alone,
      // read and locked in one statement (row-level security keeps it to the workspace): the ORM's locking read
      // joins the mailbox, contact and company (for their tenant filters) and would lock the mailbox's row as
      // well, making every other writer to the mailbox wait for this transaction.
      const [row] = await runPrepared<EntityDictionary<Conversation>>(uow, lockedConversation(em), [
        input.conversationId,
      ]);
      if (!row) throw notFound('Conversation');
      conversation = em.map(ConversationSchema, row);
      conversation.participants = participants(conversation.participants);
      conversation.messageCount += 1;
      // an older message read late (an account's history) does not make the conversation look older
      if (input.at > conversation.lastMessageAt) conversation.lastMessageAt = input.at;
      conversation.contactId ??= input.link.contactId;
      conversation.companyId ??= input.link.companyId;
      if (input.author === 'customer' && (conversation.status === 'closed' || conversation.status === 'snoozed')) {
        from = conversation.status;
        conversation.status = 'open';
        conversation.snoozedUntil = null;
      }
    } else {
      const open = input.open ?? { subject: '(no subject)', normalizedSubject: '' };
      conversation = em.create(ConversationSchema, {
        ...(open.id ? { id: open.id } : {}),
        tenantId: actor.tenantId,
        channel: input.channel ?? 'email',
        mailboxId: input.mailboxId,
        subject: open.subject,
        normalizedSubject: open.normalizedSubject,
        participants: participants([]),
        contactId: input.link.contactId,
        companyId: input.link.companyId,
        messageCount: 1,
        lastMessageAt: input.at,
        relatedConversationId: open.relatedConversationId ?? null,
        assigneeId: open.assigneeId ?? null,
      });
      opened = true;
    }
    const message = em.create(MessageSchema, {
      ...input.message,
      tenantId: actor.tenantId,
      conversationId: conversation.id,
      mailboxId: input.mailboxId,
      direction: input.direction,
      // a thread reads in the order its messages were written, however late Filo read them
      createdAt: input.at,
    } as RequiredEntityData<Message>);
    if (!(opened && input.deferFlush)) await em.flush();
    if (from) await statusActivity(this.#activities, uow, conversation, from, 'customer_replied');
    announceChange(this.#publisher, uow, conversation, 'message', {
      status: conversation.status,
      snoozedUntil: conversation.snoozedUntil ?? null,
      messageId: message.id,
      ...input.announce,
      messageCount: conversation.messageCount,
      lastMessageAt: conversation.lastMessageAt,
    });
    return { conversation, message, opened, reopened: from !== null };
  }
}
