import type { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import type { Conversation } from '../../db/entities/conversation.entity.ts';
import type { Message } from '../../db/entities/message.entity.ts';
import type { InboundMessage } from '../../db/entities/inbound-message.entity.ts';
import type { Actor, UnitOfWork } from '../tenancy.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import type { NoteTarget } from '../crm/notes.service.ts';
import type { ActivityDto, Publisher } from '../timeline/publisher.ts';
import type { MailboxesService } from './mailboxes.service.ts';
import {
  ConversationQueriesService,
  type conversationCountsQuery,
  type conversationListQuery,
  type ConversationDto,
  type InboxCounts,
} from './conversation-queries.service.ts';
import { ConversationWorkflowService, type ConversationPatch } from './conversation-workflow.service.ts';
import { ConversationWriter, type Appended, type OpenOrAppend } from './conversation-writer.service.ts';

// Re-exported so routes, openapi and rules keep importing the schemas and types from here.
export {
  conversationListQuery,
  conversationCountsQuery,
  type ConversationDto,
  type InboxCounts,
} from './conversation-queries.service.ts';
export {
  TAGS_MAX,
  conversationPatch,
  noteOnConversationInput,
  type ConversationPatch,
} from './conversation-workflow.service.ts';
export type { Appended, MessageFields, OpenOrAppend } from './conversation-writer.service.ts';

/** Conversations of the mailboxes an actor can see, their messages, raw sources and attachments. */
export class ConversationsService {
  // One facade over the read and write halves, so services.ts, routes and jobs keep a single entry point.
  readonly #queries: ConversationQueriesService;
  readonly #queue: JobQueue;
  readonly #workflow: ConversationWorkflowService;
  readonly #writer: ConversationWriter;
  /** Notes on a conversation: visible to those who see its mailbox; only they can be mentioned. */
  readonly noteTarget: NoteTarget;

  constructor(
    orm: MikroORM,
    mailboxes: MailboxesService,
    blobs: BlobStore,
    spoolPath: (key: string) => string,
    workflow: {
      activities: ActivitiesService;
      notifications: NotificationsService;
      publisher: Publisher;
      queue: JobQueue;
    },
  ) {
    this.#queue = workflow.queue;
    this.#queries = new ConversationQueriesService(orm, mailboxes, blobs, spoolPath, workflow.activities);
    this.#workflow = new ConversationWorkflowService(orm, mailboxes, workflow);
    this.#writer = new ConversationWriter(workflow);
    this.noteTarget = this.#workflow.noteTarget;
  }

  list(actor: Actor, q: z.infer<typeof conversationListQuery>) {
    return this.#queries.list(actor, q);
  }

  get(actor: Actor, id: string): Promise<{ conversation: Conversation; messages: Message[] }> {
    return this.#queries.get(actor, id);
  }

  /** The message as it arrived, byte for byte. */
  raw(actor: Actor, id: string) {
    return this.#queries.raw(actor, id);
  }

  /** An attachment of a message, by document id or by Content-ID (for `cid:` images). */
  attachment(actor: Actor, messageId: string, by: { documentId?: string; cid?: string }) {
    return this.#queries.attachment(actor, messageId, by);
  }

  /** Messages that could not be processed (admins): each keeps its raw form and can be retried. */
  failed(actor: Actor): Promise<InboundMessage[]> {
    return this.#queries.failed(actor);
  }

  inbound(actor: Actor, id: string) {
    return this.#queries.inbound(actor, id);
  }

  /** Marks a failed message for another try and queues its job, in one transaction. */
  retryInbound(actor: Actor, id: string): Promise<InboundMessage> {
    return this.#queries.retryInbound(actor, id, this.#queue);
  }

  /** Status, assignee, tags and snooze, with an optimistic `version` (see ConversationWorkflowService.update). */
  update(actor: Actor, id: string, patch: ConversationPatch, now = new Date()): Promise<ConversationDto> {
    return this.#workflow.update(actor, id, patch, now);
  }

  /** Reopens every snoozed conversation whose time has come (the job calls this every minute). */
  wakeDue(now = new Date()): Promise<number> {
    return this.#workflow.wakeDue(now);
  }

  /** Marks a conversation read for this user, up to its newest message. */
  markRead(actor: Actor, id: string): Promise<{ id: string; unread: false; lastReadAt: Date }> {
    return this.#queries.markRead(actor, id, this.#queue);
  }

  /** Counts for the inbox's sidebar: Mine / Unassigned / All, per mailbox, per status; with unread. */
  counts(actor: Actor, q: z.infer<typeof conversationCountsQuery>): Promise<InboxCounts> {
    return this.#queries.counts(actor, q);
  }

  /**
   * The one way a message joins a conversation, inbound or outbound, inside the caller's transaction: finds or opens
   * the conversation, appends the message, reopens on a customer's message (with its status activity), and
   * announces after commit.
   */
  openOrAppend(uow: UnitOfWork, input: OpenOrAppend): Promise<Appended> {
    return this.#writer.openOrAppend(uow, input);
  }

  /** The conversation's own activities after `after` (for `record:watch`), once the actor may see it. */
  timeline(actor: Actor, id: string, after: number, limit: number): Promise<ActivityDto[]> {
    return this.#queries.timeline(actor, id, after, limit);
  }
}
