import type { Readable } from 'node:stream';
import { LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import { ConversationSchema } from '../../db/entities/conversation.entity.ts';
import { MessageSchema, type Message } from '../../db/entities/message.entity.ts';
import { OutboundDeliverySchema } from '../../db/entities/outbound-delivery.entity.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { Secrets } from '../crypto/secrets.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import type { ConversationsService } from '../inbox/conversations.service.ts';
import type { Logger } from '../logger.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Mailer } from '../delivery/mailer.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import { visibleConversation } from './context.ts';
import { OutboundCompose, type ComposeInput, type newMessageInput } from './outbound-compose.service.ts';
import { announceConversation, outboundDto, type OutboundMessageDto } from './outbound-message.ts';
import { OUTBOUND_QUEUE, OutboundSendJob, type OutboundJob, type SendJobAccounts } from './outbound-send.job.ts';
import { accountSenders } from '../accounts/send.ts';
import { MailboxSchema } from '../../db/entities/mailbox.entity.ts';
import type { Sender } from '#contracts/outbound';
import { uploadForMessage } from './outbound-uploads.ts';
import type { SignaturesService } from './signatures.service.ts';
import type { TrackingService } from './tracking.service.ts';

// Re-exported so routes, jobs and OpenAPI keep importing them from the facade.
export { newMessageInput, replyInput } from './outbound-compose.service.ts';
export type { OutboundMessageDto } from './outbound-message.ts';
export { OUTBOUND_QUEUE, SENT_COPY_FAILED, type OutboundJob, type SendJobAccounts } from './outbound-send.job.ts';
export { UPLOAD_ENTITY, UPLOAD_MAX_BYTES } from './outbound-uploads.ts';

/**
 * Replies and new messages from a mailbox: stored at once (queued) with their threading headers, sent by a job
 * with retries, then recorded as `email.sent` on the customer's timeline. Failures stay on the message.
 */
export class OutboundService {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;
  readonly #publisher: Publisher;
  readonly #blobs: BlobStore;
  readonly #compose: OutboundCompose;
  readonly #sendJob: OutboundSendJob;
  /** Told each send job's result (sent, failed, skipped, deferred): the metrics' outbound sends. */
  onSent: ((result: string) => void) | null = null;
  /** First retry delay of the send job (seconds), doubling after each temporary failure. */
  readonly retryDelaySeconds: number;
  readonly #queue: JobQueue;

  constructor(deps: {
    orm: MikroORM;
    mailboxes: MailboxesService;
    signatures: SignaturesService;
    /** The writer of conversations and their messages (a queued message is appended through it). */
    conversations: Pick<ConversationsService, 'openOrAppend'>;
    /** The send job is queued in the transaction that stores the message: both exist, or neither. */
    queue: JobQueue;
    activities: ActivitiesService;
    publisher: Publisher;
    mailer: Mailer;
    blobs: BlobStore;
    secrets: Secrets;
    inboundDomain: string;
    retryDelaySeconds?: number;
    /** Open pixel and tracked links for mailboxes that ask for them. */
    tracking?: TrackingService;
    /** Sending from members' own accounts (their health, OAuth2 tokens). */
    accounts?: SendJobAccounts;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#mailboxes = deps.mailboxes;
    this.#publisher = deps.publisher;
    this.#blobs = deps.blobs;
    this.#queue = deps.queue;
    this.#compose = new OutboundCompose(deps);
    this.#sendJob = new OutboundSendJob(deps);
    this.retryDelaySeconds = deps.retryDelaySeconds ?? 10;
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
    return inTenant(this.#orm, actor, async (uow) =>
      this.#enqueue(uow, await this.#compose.reply(uow, conversationId, input, opts.headers ?? {})),
    );
  }

  /** A new conversation, started by us. */
  async start(actor: Actor, input: z.infer<typeof newMessageInput>): Promise<OutboundMessageDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => this.#enqueue(uow, await this.#compose.start(uow, actor, input)));
  }

  /**
   * Every From the actor may choose: the shared mailboxes they see (their public address, else the inbound one),
   * then each address and alias of the accounts they may send from.
   */
  senders(actor: Actor): Promise<Sender[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      const [tenant] = (await uow.em.execute(`select slug from tenants where id = ?`, [actor.tenantId])) as {
        slug: string;
      }[];
      const shared = await uow.em.find(
        MailboxSchema,
        { kind: 'shared', ...this.#mailboxes.visibleFilter(actor) },
        { orderBy: { name: 'asc' } },
      );
      return [
        ...shared.map((m) => ({
          kind: 'mailbox' as const,
          mailboxId: m.id,
          accountId: null,
          address: m.address ?? this.#mailboxes.addressOf(tenant!.slug, m.localPart),
          name: m.name,
        })),
        ...(await accountSenders(uow)),
      ];
    });
  }

  /** The send job, in the caller's transaction: a message committed as queued always has its job. */
  async #enqueue(uow: UnitOfWork, dto: OutboundMessageDto): Promise<OutboundMessageDto> {
    const job: OutboundJob = { tenantId: uow.actor.tenantId, messageId: dto.id };
    await this.#queue.send(OUTBOUND_QUEUE, job, { uow, retryDelay: this.retryDelaySeconds });
    return dto;
  }

  async #outbound(uow: UnitOfWork, id: string): Promise<Message> {
    const message = await uow.em.findOne(MessageSchema, { id, direction: 'outbound' });
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
      return outboundDto(message, delivery?.bcc ?? [], delivery?.attempts ?? 0, delivery?.transport ?? null);
    });
  }

  /** A failed message goes back in the queue. */
  async retry(actor: Actor, id: string): Promise<OutboundMessageDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const message = await this.#outbound(uow, id);
      await uow.em.lock(message, LockMode.PESSIMISTIC_WRITE);
      await uow.em.refresh(message);
      if (message.status !== 'failed')
        throw new HttpError(409, 'not_failed', `This message is ${message.status}, not failed`);
      message.status = 'queued';
      message.error = null;
      await uow.em.flush();
      const conversation = (await uow.em.findOne(ConversationSchema, { id: message.conversationId }))!;
      announceConversation(this.#publisher, uow, conversation, { messageId: message.id, status: 'queued' }, 'updated');
      const delivery = await uow.em.findOne(OutboundDeliverySchema, { id });
      return this.#enqueue(
        uow,
        outboundDto(message, delivery?.bcc ?? [], delivery?.attempts ?? 0, delivery?.transport ?? null),
      );
    });
  }

  /** A file for a message being written (before it has a conversation, or from the agent's computer). */
  upload(actor: Actor, file: { name: string; stream: Readable }) {
    return uploadForMessage({ orm: this.#orm, blobs: this.#blobs }, actor, file);
  }

  /**
   * The send job: claims the message (queued -> sending), sends it outside any transaction, records the outcome.
   * A permanent refusal (5xx) or the last attempt marks it failed; a temporary one throws for pg-boss to retry.
   */
  send(job: OutboundJob, opts: { final: boolean }): Promise<'sent' | 'failed' | 'skipped'> {
    // A temporary failure throws (pg-boss tries again): it counts as deferred.
    return this.#sendJob.send(job, opts).then(
      (outcome) => (this.onSent?.(outcome), outcome),
      (err: unknown) => {
        this.onSent?.('deferred');
        throw err;
      },
    );
  }
}
