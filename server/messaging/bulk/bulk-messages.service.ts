import type { EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import type { BulkMessage, BulkMessageReport, bulkMessageInput } from '#contracts/message-bulks';
import type { MikroORM } from '../../../db/orm.ts';
import { MessageBulkSchema, type MessageBulk } from '../../../db/entities/message-bulk.entity.ts';
import { MessagingAccountSchema } from '../../../db/entities/messaging-account.entity.ts';
import { MessageTemplateSchema } from '../../../db/entities/message-template.entity.ts';
import type { BulkEngine } from '../../delivery/bulk/engine.ts';
import { HttpError, notFound } from '../../http/errors.ts';
import type { MailboxesService } from '../../inbox/mailboxes.service.ts';
import { inTenant, requireWrite, type Actor, type UnitOfWork } from '../../tenancy.ts';
import { bulkRecipients } from './recipients.ts';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/**
 * A bulk's report from its send rows and their messages (the messages carry the provider's receipts): sent once
 * the provider took it (it has the provider's id; Twilio says `queued` then and calls back only later).
 */
async function reportOf(em: EntityManager, id: string): Promise<BulkMessageReport> {
  const [r] = (await em.execute(
    `select count(*)::int as recipients,
            (count(*) filter (where b.status in ('pending', 'deferred', 'sending')
                                or (b.status = 'sent' and m.message_id_header is null
                                    and m.status in ('queued', 'sending'))))::int as pending,
            (count(*) filter (where b.status = 'suppressed'))::int as suppressed,
            (count(*) filter (where m.message_id_header is not null
                                and m.status not in ('failed', 'undelivered')))::int as sent,
            (count(*) filter (where m.status in ('delivered', 'read')))::int as delivered,
            (count(*) filter (where m.status = 'read'))::int as read,
            (count(*) filter (where b.status in ('failed', 'bounced') or m.status in ('failed', 'undelivered')))::int
              as failed
       from bulk_sends b left join messages m on m.id = b.id
      where b.source = 'bulk_message' and b.source_id = ?`,
    [id],
  )) as Omit<BulkMessageReport, 'errors'>[];
  const errors = (await em.execute(
    `select m.error_code as code, min(m.error) as error, count(*)::int as count
       from bulk_sends b join messages m on m.id = b.id
      where b.source = 'bulk_message' and b.source_id = ? and m.status in ('failed', 'undelivered')
      group by 1 order by 3 desc limit 10`,
    [id],
  )) as BulkMessageReport['errors'];
  return { ...r!, errors };
}

/**
 * Bulk messages: a draft names the account, channel, lists or segments, the text or template and the pace; `start`
 * freezes the recipients into the bulk engine in one transaction; the report counts the rows and their messages'
 * receipts. Visible to the members who see the account's mailbox.
 */
export class BulkMessagesService {
  readonly #orm: MikroORM;
  readonly #mailboxes: Pick<MailboxesService, 'findVisible'>;
  /** The shared bulk engine (set by `wireBulkMessaging`, as the engine is built beside this service). */
  bulk: Pick<BulkEngine, 'enqueue' | 'start' | 'cancel'> | undefined;

  constructor(deps: { orm: MikroORM; mailboxes: Pick<MailboxesService, 'findVisible'> }) {
    this.#orm = deps.orm;
    this.#mailboxes = deps.mailboxes;
  }

  get #bulk(): Pick<BulkEngine, 'enqueue' | 'start' | 'cancel'> {
    if (!this.bulk) throw new Error('bulk messaging is not wired to the bulk engine');
    return this.bulk;
  }

  async #account(uow: UnitOfWork, accountId: string) {
    const account = await uow.em.findOne(MessagingAccountSchema, { id: accountId });
    if (!account) throw notFound('Messaging account');
    await this.#mailboxes.findVisible(uow, account.mailboxId).catch(() => {
      throw notFound('Messaging account');
    });
    return account;
  }

  async #dto(uow: UnitOfWork, b: MessageBulk): Promise<BulkMessage> {
    return {
      id: b.id,
      name: b.name,
      accountId: b.accountId,
      channel: b.channel as BulkMessage['channel'],
      listIds: b.listIds,
      text: b.text ?? null,
      templateId: b.templateId ?? null,
      variables: b.variables,
      ratePerMinute: b.ratePerMinute,
      state: b.state as BulkMessage['state'],
      startedAt: iso(b.startedAt),
      finishedAt: iso(b.finishedAt),
      createdAt: b.createdAt.toISOString(),
      report: await reportOf(uow.em, b.id),
    };
  }

  /** A bulk the actor may see (its account's mailbox visible), else 404. */
  async #find(uow: UnitOfWork, id: string): Promise<MessageBulk> {
    const b = await uow.em.findOne(MessageBulkSchema, { id });
    if (!b) throw notFound('Bulk message');
    await this.#account(uow, b.accountId).catch(() => {
      throw notFound('Bulk message');
    });
    return b;
  }

  list(actor: Actor): Promise<BulkMessage[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      const rows = await uow.em.find(MessageBulkSchema, {}, { orderBy: { createdAt: 'desc' }, limit: 100 });
      const out: BulkMessage[] = [];
      for (const b of rows) {
        const visible = await this.#account(uow, b.accountId).then(
          () => true,
          () => false,
        );
        if (visible) out.push(await this.#dto(uow, b));
      }
      return out;
    });
  }

  get(actor: Actor, id: string): Promise<BulkMessage> {
    return inTenant(this.#orm, actor, async (uow) => this.#dto(uow, await this.#find(uow, id)));
  }

  create(actor: Actor, input: z.infer<typeof bulkMessageInput>): Promise<BulkMessage> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const account = await this.#account(uow, input.accountId);
      if (!account.channels.includes(input.channel as never))
        throw new HttpError(409, 'channel_unavailable', `This account does not send on ${input.channel}`);
      if (input.templateId) {
        const t = await uow.em.findOne(MessageTemplateSchema, { id: input.templateId, channel: input.channel });
        if (!t || (t.accountId && t.accountId !== account.id)) throw notFound('Template');
        if (t.status !== 'approved')
          throw new HttpError(409, 'template_not_approved', 'Only approved templates can be sent');
      } else if (input.channel === 'whatsapp') {
        // Most recipients are outside their 24-hour window: WhatsApp takes only an approved template then.
        throw new HttpError(400, 'template_required', 'A WhatsApp bulk message must be an approved template', {
          templateId: 'is required on WhatsApp',
        });
      }
      const lists = (await uow.em.execute(`select count(*)::int as n from mailing_lists where id = any(?::uuid[])`, [
        `{${input.listIds.join(',')}}`,
      ])) as { n: number }[];
      if (lists[0]!.n !== new Set(input.listIds).size) throw notFound('List');
      const b = uow.em.create(MessageBulkSchema, {
        tenantId: actor.tenantId,
        name: input.name,
        accountId: account.id,
        channel: input.channel,
        listIds: [...new Set(input.listIds)],
        text: input.text,
        templateId: input.templateId,
        variables: input.variables,
        ratePerMinute: input.ratePerMinute,
        createdBy: actor.userId,
      });
      await uow.em.flush();
      return this.#dto(uow, b);
    });
  }

  /** Freezes the recipients (consent is checked per row as each is sent) and starts the engine. Draft only. */
  start(actor: Actor, id: string): Promise<BulkMessage & { unreachable: number }> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const b = await this.#find(uow, id);
      await uow.em.lock(b, 'pessimistic_write' as never);
      if (b.state !== 'draft') throw new HttpError(409, 'already_started', 'This bulk message has already started');
      const account = await this.#account(uow, b.accountId);
      const r = await bulkRecipients(uow.em, actor.tenantId, {
        channel: b.channel as BulkMessage['channel'],
        listIds: b.listIds,
        mailboxId: account.mailboxId,
      });
      await this.#bulk.enqueue(uow, { source: 'bulk_message', sourceId: b.id, select: r.select });
      b.state = 'sending';
      b.startedAt = new Date();
      await uow.em.flush();
      await this.#bulk.start(uow, 'bulk_message', b.id);
      return { ...(await this.#dto(uow, b)), unreachable: r.contacts - r.reachable };
    });
  }

  /** Rows not yet sent are cancelled; those being sent finish. */
  cancel(actor: Actor, id: string): Promise<BulkMessage> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const b = await this.#find(uow, id);
      if (b.state === 'done' || b.state === 'cancelled')
        throw new HttpError(409, 'already_finished', 'This bulk message has finished');
      b.state = 'cancelled';
      b.finishedAt ??= new Date();
      await uow.em.flush();
      await this.#bulk.cancel(uow, 'bulk_message', b.id);
      return this.#dto(uow, b);
    });
  }
}
