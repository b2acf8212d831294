import { LockMode } from '@mikro-orm/core';
import type { MessagingChannel } from '#contracts/messaging';
import { statusAdvances } from '#contracts/messaging';
import type { MikroORM } from '../../db/orm.ts';
import { MessagingEventSchema } from '../../db/entities/messaging-event.entity.ts';
import { MessageSchema } from '../../db/entities/message.entity.ts';
import { ConversationSchema } from '../../db/entities/conversation.entity.ts';
import type { RecordsService } from '../crm/records.service.ts';
import type { ConversationsService } from '../inbox/conversations.service.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../logger.ts';
import { inTenant, systemActor, type UnitOfWork } from '../tenancy.ts';
import { truncateGraphemes } from '../text.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import type { LoadedAccount, MessagingAccountsService } from './accounts.service.ts';
import { linkParty, partyKey } from './party.ts';
import type { NormalizedInbound, NormalizedStatus, WebhookRequest } from './providers/types.ts';

export const MESSAGING_EVENT_QUEUE = 'messaging.event';
export interface MessagingEventJob {
  tenantId: string;
  eventId: string;
}

/** A status callback that came before the send recorded its provider id: tried again a little later. */
export class NotYet extends Error {}

const LABEL: Record<MessagingChannel, string> = {
  sms: 'SMS',
  whatsapp: 'WhatsApp',
  telegram: 'Telegram',
  discord: 'Discord',
};

/**
 * Webhooks in: `store` keeps each verified event (once per provider event id) with its job in one transaction, before
 * the provider gets its answer; `process` turns an event into messages on the account's mailbox (contact matched,
 * conversation found or opened, timeline, live events) or into a status move that never goes backwards.
 */
export class MessagingInbound {
  readonly #orm: MikroORM;
  readonly #accounts: MessagingAccountsService;
  readonly #records: RecordsService;
  readonly #conversations: Pick<ConversationsService, 'openOrAppend'>;
  readonly #activities: ActivitiesService;
  readonly #publisher: Publisher;
  readonly #queue: JobQueue;
  readonly #log: Logger;
  /** Listeners of each inbound message once written (bulk STOP keywords, the chatbot), inside its transaction. */
  readonly listeners: ((uow: UnitOfWork, event: InboundWritten) => Promise<void>)[] = [];

  constructor(deps: {
    orm: MikroORM;
    accounts: MessagingAccountsService;
    records: RecordsService;
    conversations: Pick<ConversationsService, 'openOrAppend'>;
    activities: ActivitiesService;
    publisher: Publisher;
    queue: JobQueue;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#accounts = deps.accounts;
    this.#records = deps.records;
    this.#conversations = deps.conversations;
    this.#activities = deps.activities;
    this.#publisher = deps.publisher;
    this.#queue = deps.queue;
    this.#log = deps.log;
  }

  /**
   * A webhook for an account: verified by its provider first (nothing is read or written for a bad signature), then
   * its events stored with their jobs. Answers what the provider should get back.
   */
  async receive(
    provider: string,
    accountId: string,
    hook: WebhookRequest,
  ): Promise<{ status: number; contentType?: string; body?: string; stored: number }> {
    const tenantId = await this.#accounts.tenantOf(accountId);
    if (!tenantId) return { status: 403, stored: 0 };
    const actor = systemActor(tenantId);
    const loaded = await inTenant(this.#orm, actor, (uow) => this.#accounts.load(uow, accountId));
    if (loaded.row.provider !== provider) return { status: 403, stored: 0 };
    const result = await loaded.provider.receive(hook, loaded.view);
    if (!result.ok) return { status: result.status, stored: 0 };
    let stored = 0;
    if (result.events.length)
      stored = await inTenant(this.#orm, actor, async (uow) => {
        let n = 0;
        for (const event of result.events) {
          // A repeat of a stored event (the provider retried) is answered 200 and stored no second time.
          const rows = (await uow.em.execute(
            `insert into messaging_events (id, tenant_id, account_id, provider_event_id, payload)
             values (gen_random_uuid(), ?, ?, ?, ?::jsonb)
             on conflict (account_id, provider_event_id) do nothing returning id`,
            [tenantId, accountId, event.eventId, JSON.stringify(event.payload)],
          )) as { id: string }[];
          if (!rows[0]) continue;
          await this.#queue.send(MESSAGING_EVENT_QUEUE, { tenantId, eventId: rows[0].id } satisfies MessagingEventJob, {
            uow,
          });
          n++;
        }
        return n;
      });
    return {
      status: result.reply?.status ?? 200,
      ...(result.reply?.contentType ? { contentType: result.reply.contentType } : {}),
      ...(result.reply?.body !== undefined ? { body: result.reply.body } : {}),
      stored,
    };
  }

  /** Processes one stored event, once: under its row lock, only while it is `received`. */
  async process(job: MessagingEventJob, opts: { final: boolean }): Promise<'processed' | 'ignored' | 'done'> {
    const actor = systemActor(job.tenantId);
    try {
      return await inTenant(this.#orm, actor, async (uow) => {
        const event = await uow.em.findOne(
          MessagingEventSchema,
          { id: job.eventId },
          { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
        );
        if (!event || event.status !== 'received') return 'done';
        event.attempts += 1;
        const account = await this.#accounts.load(uow, event.accountId);
        const normalized = account.provider.normalize(event.payload, account.view);
        for (const n of normalized) {
          if (n.kind === 'inbound') await this.#inbound(uow, account, n);
          else await this.#status(uow, account, n, opts.final);
        }
        event.status = normalized.length ? 'processed' : 'ignored';
        event.processedAt = new Date();
        await uow.em.flush();
        return event.status === 'processed' ? 'processed' : 'ignored';
      });
    } catch (err) {
      if (err instanceof NotYet) throw err;
      if (opts.final)
        await inTenant(this.#orm, actor, (uow) =>
          uow.em.nativeUpdate(
            MessagingEventSchema,
            { id: job.eventId, status: 'received' },
            { status: 'failed', error: String((err as Error).message).slice(0, 2000) },
          ),
        );
      throw err;
    }
  }

  async #inbound(uow: UnitOfWork, account: LoadedAccount, n: NormalizedInbound): Promise<void> {
    const { em } = uow;
    const dup = await em.count(MessageSchema, {
      messagingAccountId: account.row.id,
      messageIdHeader: n.providerMessageId,
    });
    if (dup) return;
    const key = partyKey(n.channel, n.from);
    const mailboxId = account.row.mailboxId;
    const link = await linkParty(
      uow,
      this.#records,
      { channel: n.channel, key, name: n.fromName, mailboxId },
      { createContacts: account.row.createContacts },
    );
    // One conversation per party, channel and account: a new message continues the latest (reopening it).
    const existing = await em.findOne(
      ConversationSchema,
      { mailboxId, channel: n.channel, participants: { $contains: [key] } },
      { orderBy: { lastMessageAt: 'desc' } },
    );
    const subject = truncateGraphemes(n.fromName ? `${n.fromName} (${key})` : key, 998);
    const text = n.text ?? '';
    const media = n.media.map((m) => m.url).join('\n');
    const { conversation, message } = await this.#conversations.openOrAppend(uow, {
      channel: n.channel,
      mailboxId,
      conversationId: existing?.id ?? null,
      open: { subject, normalizedSubject: '' },
      author: 'customer',
      direction: 'inbound',
      participants: [key],
      link: { contactId: link.contactId, companyId: link.companyId },
      at: n.at,
      message: {
        channel: n.channel,
        classification: 'message',
        messageIdHeader: n.providerMessageId,
        messagingAccountId: account.row.id,
        fromAddress: key,
        fromName: n.fromName ? truncateGraphemes(n.fromName, 255) : null,
        toAddress: n.to,
        subject: existing?.subject ?? subject,
        text: [text, media].filter(Boolean).join('\n') || null,
        html: null,
        messaging: n.media.length ? { media: n.media } : null,
        contactId: link.contactId,
        companyId: link.companyId,
      },
    });
    await this.#activities.record(uow, {
      entityType: link.contactId ? 'contact' : link.companyId ? 'company' : 'conversation',
      entityId: link.contactId ?? link.companyId ?? conversation.id,
      companyId: link.companyId,
      type: 'message.received',
      title: `${LABEL[n.channel]} from ${n.fromName ?? key}`,
      description: text ? truncateGraphemes(text, 280) : null,
      data: {
        conversationId: conversation.id,
        messageId: message.id,
        channel: n.channel,
        accountId: account.row.id,
        party: key,
        partyName: n.fromName,
      },
    });
    for (const listener of this.listeners)
      await listener(uow, { account: account.row.id, channel: n.channel, party: key, text, conversation, message });
  }

  async #status(uow: UnitOfWork, account: LoadedAccount, n: NormalizedStatus, final: boolean): Promise<void> {
    const { em } = uow;
    const message = await em.findOne(
      MessageSchema,
      { messagingAccountId: account.row.id, messageIdHeader: n.providerMessageId },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    if (!message) {
      // The send that got this id may not have committed yet; after the last try the event is let go.
      if (!final) throw new NotYet(`no message ${n.providerMessageId} yet`);
      return;
    }
    // Out of order (delivered after read) or after a final state: ignored, never a step back.
    if (!statusAdvances(message.status, n.status)) return;
    message.status = n.status;
    message.statusAt = n.at ?? new Date();
    message.messaging = { ...(message.messaging ?? {}), providerStatus: n.providerStatus };
    if (n.status === 'failed' || n.status === 'undelivered') {
      message.errorCode = n.errorCode;
      message.error =
        (n.errorCode && account.provider.errorWords(n.errorCode)) ||
        (n.errorCode ? `The provider reported error ${n.errorCode}` : 'The message could not be delivered');
    }
    await em.flush();
    const conversation = await em.findOneOrFail(ConversationSchema, { id: message.conversationId });
    const type =
      n.status === 'failed' || n.status === 'undelivered'
        ? 'message.failed'
        : n.status === 'delivered'
          ? 'message.delivered'
          : n.status === 'read'
            ? 'message.read'
            : n.status === 'sent'
              ? 'message.sent'
              : null;
    if (type && type !== 'message.sent')
      await this.#activities.record(uow, {
        entityType: message.contactId ? 'contact' : message.companyId ? 'company' : 'conversation',
        entityId: message.contactId ?? message.companyId ?? conversation.id,
        companyId: message.companyId ?? null,
        type,
        title: `${LABEL[message.channel as MessagingChannel] ?? message.channel} to ${message.toAddress ?? ''} ${n.status}`,
        description: null,
        data: {
          conversationId: conversation.id,
          messageId: message.id,
          channel: message.channel,
          accountId: account.row.id,
          party: message.toAddress ?? null,
          errorCode: message.errorCode ?? null,
          error: message.error ?? null,
        },
      });
    announceMessage(this.#publisher, uow, conversation, {
      messageId: message.id,
      status: message.status,
      error: message.error ?? null,
      errorCode: message.errorCode ?? null,
    });
    this.#log.debug({ messageId: message.id, status: n.status }, 'messaging status moved');
  }
}

/** What listeners of inbound messages hear (bulk STOP keywords, the chatbot). */
export interface InboundWritten {
  account: string;
  channel: MessagingChannel;
  party: string;
  text: string;
  conversation: { id: string; mailboxId: string; status: string; assigneeId?: string | null };
  message: { id: string };
}

/** After commit: the conversation's watchers hear the message's new status (the ticks). */
export function announceMessage(
  publisher: Publisher,
  uow: UnitOfWork,
  conversation: { id: string; version: number },
  changes: Record<string, unknown>,
): void {
  const tenantId = uow.actor.tenantId;
  const version = conversation.version;
  uow.afterCommit(() =>
    publisher.recordUpdated(tenantId, { type: 'conversation', id: conversation.id, changes, version }),
  );
}
