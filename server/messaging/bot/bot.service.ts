import type { z } from 'zod';
import type { MessagingBot as MessagingBotDto, messagingBotInput } from '#contracts/messaging-bot';
import type { MikroORM } from '../../../db/orm.ts';
import { MessagingAccountSchema } from '../../../db/entities/messaging-account.entity.ts';
import { ConversationBotSchema, MessagingBotSchema } from '../../../db/entities/messaging-bot.entity.ts';
import type { RecordsService } from '../../crm/records.service.ts';
import { notFound } from '../../http/errors.ts';
import type { MailboxesService } from '../../inbox/mailboxes.service.ts';
import type { Logger } from '../../logger.ts';
import { inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../../tenancy.ts';
import type { InboundWritten } from '../inbound.service.ts';
import type { MessagingOutbound } from '../outbound.service.ts';
import { decide, type BotRule, type BotState, type BotStep, type BusinessHours } from './rules.ts';

/**
 * The chatbot of messaging accounts: its rules per account (GET/PUT), and the inbound listener that runs them on a
 * conversation it holds. Steps that change Filo (fields, tags, assignee, the bot state) are written in the inbound
 * message's transaction; the replies are queued after it commits (through msgcore's send, as the bot: no member).
 */
export class MessagingBotService {
  readonly #orm: MikroORM;
  readonly #mailboxes: Pick<MailboxesService, 'findVisible'>;
  readonly #records: Pick<RecordsService, 'createIn'>;
  readonly #log: Logger;
  /** msgcore's send (set by `wireBulkMessaging`: both are built side by side). */
  outbound: Pick<MessagingOutbound, 'send'> | undefined;

  constructor(deps: {
    orm: MikroORM;
    mailboxes: Pick<MailboxesService, 'findVisible'>;
    records: Pick<RecordsService, 'createIn'>;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#mailboxes = deps.mailboxes;
    this.#records = deps.records;
    this.#log = deps.log;
  }

  async #account(uow: UnitOfWork, accountId: string) {
    const account = await uow.em.findOne(MessagingAccountSchema, { id: accountId });
    if (!account) throw notFound('Messaging account');
    await this.#mailboxes.findVisible(uow, account.mailboxId).catch(() => {
      throw notFound('Messaging account');
    });
    return account;
  }

  get(actor: Actor, accountId: string): Promise<MessagingBotDto> {
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#account(uow, accountId);
      const bot = await uow.em.findOne(MessagingBotSchema, { accountId });
      return {
        accountId,
        enabled: bot?.enabled ?? false,
        rules: (bot?.rules ?? []) as MessagingBotDto['rules'],
        hours: (bot?.hours ?? null) as MessagingBotDto['hours'],
      };
    });
  }

  put(actor: Actor, accountId: string, input: z.infer<typeof messagingBotInput>): Promise<MessagingBotDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#account(uow, accountId);
      const bot =
        (await uow.em.findOne(MessagingBotSchema, { accountId })) ??
        uow.em.create(MessagingBotSchema, { tenantId: actor.tenantId, accountId });
      bot.enabled = input.enabled;
      bot.rules = input.rules as Record<string, unknown>[];
      bot.hours = input.hours;
      await uow.em.flush();
      return { accountId, enabled: bot.enabled, rules: input.rules, hours: input.hours } as MessagingBotDto;
    });
  }

  /** The inbound listener: one decision per message of a conversation the bot may answer. */
  async onInbound(uow: UnitOfWork, event: InboundWritten): Promise<void> {
    const { em } = uow;
    const bot = await em.findOne(MessagingBotSchema, { accountId: event.account });
    if (!bot?.enabled || !bot.rules.length || !this.outbound) return;
    const conversationId = event.conversation.id;
    const held = await em.findOne(ConversationBotSchema, { conversationId });
    if (held?.status === 'open') return;
    const [facts] = (await em.execute(
      `select c.assignee_id, c.contact_id,
              (select count(*)::int from messages m where m.conversation_id = c.id and m.direction = 'inbound') as inbound,
              exists (select 1 from messages m where m.conversation_id = c.id and m.direction = 'outbound'
                         and m.sent_by is not null) as person_replied
         from conversations c where c.id = ?`,
      [conversationId],
    )) as { assignee_id: string | null; contact_id: string | null; inbound: number; person_replied: boolean }[];
    if (!facts) return;
    const decision = decide({
      rules: bot.rules as unknown as BotRule[],
      hours: bot.hours as unknown as BusinessHours | null,
      // A person replied or took the conversation (not the bot's own assigning): the bot is silent for good.
      humanTookOver: facts.person_replied || (!!facts.assignee_id && !held),
      state: (held?.state ?? null) as BotState | null,
      message: { text: event.text ?? '', at: new Date(), first: facts.inbound <= 1 },
    });
    const row =
      held ?? em.create(ConversationBotSchema, { conversationId, tenantId: uow.actor.tenantId, status: 'bot' });
    row.status = decision.status;
    row.state = decision.state as unknown as Record<string, unknown> | null;
    await em.flush();
    const replies: BotStep[] = [];
    for (const step of decision.steps) {
      if (step.kind === 'reply') replies.push(step);
      else await this.#apply(uow, conversationId, facts.contact_id, step);
    }
    if (!replies.length) return;
    const actor = systemActor(uow.actor.tenantId, 'Filo bot');
    // The conversation is locked by the inbound transaction: the replies are queued once it commits.
    uow.afterCommit(() => {
      void (async () => {
        for (const r of replies) {
          if (r.kind !== 'reply') continue;
          await this.outbound!.send(actor, {
            conversationId,
            ...(r.templateId ? { template: { templateId: r.templateId, variables: {} } } : { text: r.text! }),
          } as Parameters<MessagingOutbound['send']>[1]);
        }
      })().catch((err: unknown) => this.#log.warn({ err, conversationId }, 'bot reply not queued'));
    });
  }

  async #apply(uow: UnitOfWork, conversationId: string, contactId: string | null, step: BotStep): Promise<void> {
    const { em } = uow;
    if (step.kind === 'tag') {
      await em.execute(
        `update conversations set tags = array_append(tags, ?), version = version + 1
          where id = ? and not (? = any(tags))`,
        [step.tag, conversationId, step.tag],
      );
    } else if (step.kind === 'assign') {
      await em.execute(`update conversations set assignee_id = ?, version = version + 1 where id = ?`, [
        step.userId,
        conversationId,
      ]);
    } else if (step.kind === 'store' && contactId) {
      if (step.field === 'email') {
        await em.execute(`update contacts set email = ?, updated_at = now() where id = ?`, [step.value, contactId]);
      } else if (step.field === 'name') {
        const words = step.value.split(' ');
        const last = words.length > 1 ? words.pop()! : '';
        await em.execute(`update contacts set first_name = ?, last_name = ?, updated_at = now() where id = ?`, [
          words.join(' ').slice(0, 100),
          last.slice(0, 100),
          contactId,
        ]);
      } else {
        const [found] = (await em.execute(`select id from companies where lower(name) = lower(?) limit 1`, [
          step.value,
        ])) as { id: string }[];
        const companyId = found?.id ?? (await this.#records.createIn(uow, 'company', { name: step.value })).id;
        await em.execute(`update contacts set company_id = ?, updated_at = now() where id = ?`, [companyId, contactId]);
        await em.execute(`update conversations set company_id = coalesce(company_id, ?) where id = ?`, [
          companyId,
          conversationId,
        ]);
      }
    }
  }
}
