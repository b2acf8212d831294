import { LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import {
  statusAdvances,
  templateVariables,
  type ComposeContext,
  type MessagingChannel,
  type sendMessageInput,
} from '#contracts/messaging';
import type { MikroORM } from '../../db/orm.ts';
import { ConversationSchema, type Conversation } from '../../db/entities/conversation.entity.ts';
import { MessageSchema, type Message } from '../../db/entities/message.entity.ts';
import { MessagingAccountSchema } from '../../db/entities/messaging-account.entity.ts';
import { MessageTemplateSchema, type MessageTemplate } from '../../db/entities/message-template.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import type { ConversationsService } from '../inbox/conversations.service.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../logger.ts';
import { inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import { truncateGraphemes } from '../text.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import type { LoadedAccount, MessagingAccountsService } from './accounts.service.ts';
import { announceMessage } from './inbound.service.ts';
import { countryOf, partyKey, toE164 } from './party.ts';
import { ProviderError } from './providers/types.ts';
import { templateDto } from './templates.service.ts';

export const MESSAGING_SEND_QUEUE = 'messaging.send';
export interface MessagingSendJob {
  tenantId: string;
  messageId: string;
}

/** WhatsApp's customer service window: free text within 24 hours of the party's last message. */
export const WHATSAPP_WINDOW_MS = 24 * 3600_000;
/** Temporary failures are tried again this many times (5 s, 10 s, 20 s…) before the message fails. */
const MAX_ATTEMPTS = 6;

/**
 * Messages out: `send` checks (visibility, the WhatsApp window, template variables) and queues the message with its
 * job in one transaction; `deliver` (the job) hands it to the provider once, reschedules on 429 / temporary failures
 * (never a second message), and fails it in words on a refusal.
 */
export class MessagingOutbound {
  readonly #orm: MikroORM;
  readonly #accounts: MessagingAccountsService;
  readonly #mailboxes: MailboxesService;
  readonly #conversations: Pick<ConversationsService, 'openOrAppend'>;
  readonly #activities: ActivitiesService;
  readonly #publisher: Publisher;
  readonly #queue: JobQueue;
  readonly #apiBase: (provider: string) => string | undefined;
  readonly #log: Logger;

  constructor(deps: {
    orm: MikroORM;
    accounts: MessagingAccountsService;
    mailboxes: MailboxesService;
    conversations: Pick<ConversationsService, 'openOrAppend'>;
    activities: ActivitiesService;
    publisher: Publisher;
    queue: JobQueue;
    apiBase: (provider: string) => string | undefined;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#accounts = deps.accounts;
    this.#mailboxes = deps.mailboxes;
    this.#conversations = deps.conversations;
    this.#activities = deps.activities;
    this.#publisher = deps.publisher;
    this.#queue = deps.queue;
    this.#apiBase = deps.apiBase;
    this.#log = deps.log;
  }

  /** The conversation's account, channel and party, once the actor may see its mailbox. */
  async #target(uow: UnitOfWork, conversationId: string) {
    const conversation = await uow.em.findOne(ConversationSchema, { id: conversationId });
    if (!conversation) throw notFound('Conversation');
    await this.#mailboxes.findVisible(uow, conversation.mailboxId).catch(() => {
      throw notFound('Conversation');
    });
    const account = await this.#accounts.ofMailbox(uow, conversation.mailboxId);
    if (!account || conversation.channel === 'email')
      throw new HttpError(409, 'not_messaging', 'This conversation is not on a messaging channel');
    const party = conversation.participants[0] ?? null;
    return { conversation, account, channel: conversation.channel as MessagingChannel, party };
  }

  /** When the WhatsApp window with this party closes (null: it never opened). */
  async windowClosesAt(uow: UnitOfWork, accountId: string, party: string): Promise<Date | null> {
    const rows = (await uow.em.execute(
      `select max(created_at) as last from messages
        where tenant_id = ? and messaging_account_id = ? and from_address = ? and direction = 'inbound'`,
      [uow.actor.tenantId, accountId, party],
    )) as { last: Date | string | null }[];
    const last = rows[0]?.last;
    return last ? new Date(new Date(last).getTime() + WHATSAPP_WINDOW_MS) : null;
  }

  /** What the composer of a messaging conversation needs: the party, the WhatsApp window, the templates. */
  async context(actor: Actor, conversationId: string, now = new Date()): Promise<ComposeContext> {
    return inTenant(this.#orm, actor, async (uow) => {
      const { conversation, account, channel, party } = await this.#target(uow, conversationId);
      const closesAt = channel === 'whatsapp' && party ? await this.windowClosesAt(uow, account.row.id, party) : null;
      const templates = await uow.em.find(
        MessageTemplateSchema,
        { channel, status: 'approved', $or: [{ accountId: null }, { accountId: account.row.id }] },
        { orderBy: { name: 'asc' } },
      );
      return {
        conversationId: conversation.id,
        accountId: account.row.id,
        channel,
        to: party,
        window:
          channel === 'whatsapp'
            ? { open: Boolean(closesAt && closesAt > now), closesAt: closesAt?.toISOString() ?? null }
            : null,
        templates: templates.map(templateDto),
      };
    });
  }

  /** Queues a message (a reply in a conversation, or a first one to a party) and its send job. */
  async send(
    actor: Actor,
    input: z.infer<typeof sendMessageInput>,
    now = new Date(),
  ): Promise<{ id: string; conversationId: string; status: 'queued' }> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      let account: LoadedAccount;
      let channel: MessagingChannel;
      let party: string;
      let conversation: Conversation | null;
      if (input.conversationId) {
        const target = await this.#target(uow, input.conversationId);
        if (!target.party) throw new HttpError(409, 'no_recipient', 'This conversation has no one to write to');
        ({ account, channel, party, conversation } = { ...target, party: target.party });
      } else {
        const row = await uow.em.findOne(MessagingAccountSchema, { id: input.accountId! });
        if (!row) throw notFound('Messaging account');
        await this.#mailboxes.findVisible(uow, row.mailboxId).catch(() => {
          throw notFound('Messaging account');
        });
        account = this.#accounts.view(row);
        channel = input.channel!;
        // A number written locally ("333 123 4567") is read in the country of the account's own number.
        const own = [...((row.settings.smsNumbers as string[] | undefined) ?? []), row.settings.whatsappSender];
        const country = own.map((n) => (typeof n === 'string' ? countryOf(n) : undefined)).find(Boolean);
        party =
          channel === 'sms' || channel === 'whatsapp'
            ? (toE164(input.to!, country) ?? input.to!)
            : partyKey(channel, input.to!);
        if ((channel === 'sms' || channel === 'whatsapp') && !/^\+[1-9]\d{6,14}$/.test(party))
          throw new HttpError(400, 'validation_failed', 'The recipient is not a phone number', {
            to: 'must be a phone number in international format',
          });
        conversation = await uow.em.findOne(
          ConversationSchema,
          { mailboxId: row.mailboxId, channel, participants: { $contains: [party] } },
          { orderBy: { lastMessageAt: 'desc' } },
        );
      }
      if (!account.row.enabled) throw new HttpError(409, 'account_disabled', 'This messaging account is switched off');
      if (!account.row.channels.includes(channel as never))
        throw new HttpError(409, 'channel_unavailable', `This account does not send on ${channel}`);
      let template: MessageTemplate | null = null;
      let variables: Record<string, string> = {};
      if (input.template) {
        template = await uow.em.findOne(MessageTemplateSchema, { id: input.template.templateId, channel });
        if (!template || (template.accountId && template.accountId !== account.row.id)) throw notFound('Template');
        if (template.status !== 'approved')
          throw new HttpError(409, 'template_not_approved', 'Only approved templates can be sent');
        variables = input.template.variables;
        const missing = templateVariables(template.body).filter((v) => !variables[v]?.trim());
        if (missing.length)
          throw new HttpError(400, 'template_variables', `Fill in the template's variables: ${missing.join(', ')}`, {
            ...Object.fromEntries(missing.map((v) => [`template.variables.${v}`, 'is required'])),
          });
      } else if (channel === 'whatsapp') {
        // Outside the window WhatsApp takes only templates: refused here, without a call to the provider.
        const closesAt = await this.windowClosesAt(uow, account.row.id, party);
        if (!closesAt || closesAt <= now)
          throw new HttpError(
            409,
            'whatsapp_window_closed',
            'More than 24 hours since their last message: WhatsApp allows only an approved template now',
            undefined,
            { closesAt: closesAt?.toISOString() ?? null },
          );
      }
      const text = template ? fill(template.body, variables) : input.text!;
      const contact = conversation
        ? { contactId: conversation.contactId ?? null, companyId: conversation.companyId ?? null }
        : await this.#contactOf(uow, input.contactId);
      const subject = conversation?.subject ?? party;
      const { conversation: c, message } = await this.#conversations.openOrAppend(uow, {
        channel,
        mailboxId: account.row.mailboxId,
        conversationId: conversation?.id ?? null,
        open: { subject, normalizedSubject: '' },
        author: 'team',
        direction: 'outbound',
        participants: [party],
        link: contact,
        at: now,
        announce: { status: 'queued' },
        message: {
          channel,
          classification: 'message',
          messagingAccountId: account.row.id,
          fromAddress: null,
          toAddress: party,
          subject: truncateGraphemes(subject, 998),
          text,
          html: null,
          status: 'queued',
          statusAt: now,
          sentBy: actor.system ? null : actor.userId,
          contactId: contact.contactId,
          companyId: contact.companyId,
          messaging: template
            ? { templateId: template.id, providerTemplateId: template.providerTemplateId ?? null, variables }
            : null,
        },
      });
      await this.#queue.send(
        MESSAGING_SEND_QUEUE,
        { tenantId: actor.tenantId, messageId: message.id } satisfies MessagingSendJob,
        { uow, singletonKey: message.id },
      );
      return { id: message.id, conversationId: c.id, status: 'queued' as const };
    });
  }

  async #contactOf(uow: UnitOfWork, contactId: string | undefined) {
    if (!contactId) return { contactId: null, companyId: null };
    const rows = (await uow.em.execute(`select id, company_id from contacts where tenant_id = ? and id = ?`, [
      uow.actor.tenantId,
      contactId,
    ])) as { id: string; company_id: string | null }[];
    if (!rows[0]) throw notFound('Contact');
    return { contactId: rows[0].id, companyId: rows[0].company_id };
  }

  /**
   * The send job: claims a queued message (under its lock, marking it `sending`), calls the provider outside any
   * transaction, then records the provider's id and status. A 429 or a temporary failure puts it back to `queued`
   * with a job for later; a message already handed over is never sent again.
   */
  async deliver(job: MessagingSendJob): Promise<string> {
    const actor = systemActor(job.tenantId);
    const claimed = await inTenant(this.#orm, actor, async (uow) => {
      const message = await uow.em.findOne(
        MessageSchema,
        { id: job.messageId },
        { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
      );
      if (!message || message.status !== 'queued' || message.messageIdHeader || !message.messagingAccountId)
        return null;
      message.status = 'sending';
      message.statusAt = new Date();
      message.messaging = { ...(message.messaging ?? {}), attempts: (message.messaging?.attempts ?? 0) + 1 };
      await uow.em.flush();
      const account = await this.#accounts.load(uow, message.messagingAccountId);
      return { message, account };
    });
    if (!claimed) return 'skipped';
    const { message, account } = claimed;
    const meta = message.messaging ?? {};
    let result: Awaited<ReturnType<typeof account.provider.send>>;
    try {
      result = await account.provider.send(
        {
          id: message.id,
          channel: message.channel as MessagingChannel,
          to: message.toAddress!,
          text: message.text ?? null,
          template: meta.templateId
            ? {
                providerTemplateId: meta.providerTemplateId ?? null,
                body: message.text ?? '',
                variables: meta.variables ?? {},
              }
            : null,
        },
        account.view,
        {
          apiBase: this.#apiBase(account.row.provider),
          statusUrl: this.#accounts.webhookUrl(account.row.provider, account.row.id, 'status'),
        },
      );
    } catch (err) {
      const e =
        err instanceof ProviderError ? err : new ProviderError('temporary', (err as Error).message ?? 'send failed');
      const attempts = meta.attempts ?? 1;
      if (e.kind === 'rate_limited' || (e.kind === 'temporary' && attempts < MAX_ATTEMPTS)) {
        const after = e.retryAfterSeconds ?? 5 * 2 ** (attempts - 1);
        await inTenant(this.#orm, actor, async (uow) => {
          await uow.em.nativeUpdate(MessageSchema, { id: message.id, status: 'sending' }, { status: 'queued' });
          await this.#queue.send(MESSAGING_SEND_QUEUE, job, { uow, startAfter: after });
        });
        this.#log.info({ messageId: message.id, kind: e.kind, after }, 'messaging send rescheduled');
        return e.kind;
      }
      await inTenant(this.#orm, actor, (uow) => this.#failed(uow, message.id, account, e));
      return 'failed';
    }
    // Handed over: if recording it fails (or the process dies first), the message stays `sending` and is never sent
    // a second time; `unconfirmed` tells the conversation so once it has been in doubt for a while.
    await inTenant(this.#orm, actor, (uow) => this.#sent(uow, message.id, account, result));
    return 'sent';
  }

  /**
   * A message `sending` since before `before`: the provider may have it (its answer was lost to a crash or a failed
   * write), so it is never sent again. It is failed in words, on its conversation and timeline, for a person to check.
   * Returns whether it was still in doubt.
   */
  async unconfirmed(tenantId: string, id: string, before: Date): Promise<boolean> {
    return inTenant(this.#orm, systemActor(tenantId), async (uow) => {
      const message = await uow.em.findOne(MessageSchema, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!message || message.status !== 'sending' || (message.statusAt && message.statusAt >= before)) return false;
      const account = await this.#accounts.load(uow, message.messagingAccountId!);
      const doubt = new ProviderError(
        'permanent',
        'Handed to the provider, but its answer was never recorded: it may have been sent. Check before sending again.',
        { code: 'unconfirmed' },
      );
      await this.#failed(uow, id, account, doubt);
      return true;
    });
  }

  async #sent(
    uow: UnitOfWork,
    id: string,
    account: LoadedAccount,
    result: { providerMessageId: string; status: string; providerStatus: string },
  ) {
    const message = await uow.em.findOneOrFail(
      MessageSchema,
      { id },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    message.messageIdHeader = result.providerMessageId;
    message.sentAt = new Date();
    message.statusAt = new Date();
    message.status = statusAdvances('queued', result.status as never) ? result.status : 'queued';
    message.messaging = { ...(message.messaging ?? {}), providerStatus: result.providerStatus };
    await uow.em.flush();
    const conversation = await uow.em.findOneOrFail(ConversationSchema, { id: message.conversationId });
    await this.#activities.record(uow, {
      entityType: message.contactId ? 'contact' : message.companyId ? 'company' : 'conversation',
      entityId: message.contactId ?? message.companyId ?? conversation.id,
      companyId: message.companyId ?? null,
      type: 'message.sent',
      title: `Message to ${message.toAddress ?? ''}`,
      description: message.text ? truncateGraphemes(message.text, 280) : null,
      data: {
        conversationId: conversation.id,
        messageId: message.id,
        channel: message.channel,
        accountId: account.row.id,
        party: message.toAddress ?? null,
      },
    });
    announceMessage(this.#publisher, uow, conversation, { messageId: message.id, status: message.status });
  }

  async #failed(uow: UnitOfWork, id: string, account: LoadedAccount, e: ProviderError) {
    const message = await uow.em.findOneOrFail(
      MessageSchema,
      { id },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    message.status = 'failed';
    message.statusAt = new Date();
    message.errorCode = e.code?.slice(0, 40) ?? null;
    message.error = ((e.code && account.provider.errorWords(e.code)) || e.message).slice(0, 2000);
    await uow.em.flush();
    const conversation = await uow.em.findOneOrFail(ConversationSchema, { id: message.conversationId });
    await this.#activities.record(uow, {
      entityType: message.contactId ? 'contact' : message.companyId ? 'company' : 'conversation',
      entityId: message.contactId ?? message.companyId ?? conversation.id,
      companyId: message.companyId ?? null,
      type: 'message.failed',
      title: `Message to ${message.toAddress ?? ''} failed`,
      description: message.error,
      data: {
        conversationId: conversation.id,
        messageId: message.id,
        channel: message.channel,
        accountId: account.row.id,
        party: message.toAddress ?? null,
        errorCode: message.errorCode ?? null,
        error: message.error,
      },
    });
    announceMessage(this.#publisher, uow, conversation, {
      messageId: message.id,
      status: 'failed',
      error: message.error,
      errorCode: message.errorCode ?? null,
    });
  }
}

/** `{{1}}` / `{{name}}` replaced by their values. */
export function fill(body: string, variables: Record<string, string>): string {
  return body.replace(/\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g, (all, name: string) => variables[name] ?? all);
}

export type { Message };
