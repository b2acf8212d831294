import type { EntityManager } from '@mikro-orm/postgresql';
import type { MessagingChannel } from '#contracts/messaging';
import { renderTemplate } from '#contracts/template-variables';
import type { MikroORM } from '../../../db/orm.ts';
import { ConversationSchema } from '../../../db/entities/conversation.entity.ts';
import type { BulkHandler, BulkRecipientRow, BulkScope, ComposedMail, Delivered } from '../../delivery/bulk/engine.ts';
import type { ConversationsService } from '../../inbox/conversations.service.ts';
import { inTenant, systemActor, type UnitOfWork } from '../../tenancy.ts';
import { truncateGraphemes } from '../../text.ts';
import type { MessagingAccountsService } from '../accounts.service.ts';
import { fill, type MessagingOutbound } from '../outbound.service.ts';

interface BulkRow {
  name: string;
  account_id: string;
  channel: MessagingChannel;
  text: string | null;
  template_id: string | null;
  variables: Record<string, string>;
  rate_per_minute: number;
  state: string;
  body: string | null;
  provider_template_id: string | null;
}

export interface BulkHandlerDeps {
  orm: MikroORM;
  accounts: MessagingAccountsService;
  outbound: Pick<MessagingOutbound, 'deliver'>;
  conversations: Pick<ConversationsService, 'openOrAppend'>;
}

const loadBulk = async (em: EntityManager, id: string): Promise<BulkRow | null> =>
  (
    (await em.execute(
      `select b.name, b.account_id, b.channel, b.text, b.template_id, b.variables, b.rate_per_minute, b.state,
              t.body, t.provider_template_id
         from message_bulks b left join message_templates t on t.id = b.template_id where b.id = ?`,
      [id],
    )) as BulkRow[]
  )[0] ?? null;

/**
 * Bulk messages in the shared bulk engine (source `bulk_message`): consent of the bulk's channel is checked per
 * row by the engine at claim; `deliver` writes the row's message (id = the row's id, so a row claimed again after a
 * crash finds it) in the account's inbox and hands it to msgcore's send, which claims it once (queued -> sending)
 * and never sends it twice. A message left `sending` by a dead worker is in doubt and is not sent again.
 */
export class BulkMessageHandler implements BulkHandler {
  readonly source = 'bulk_message' as const;
  readonly #d: BulkHandlerDeps;

  constructor(deps: BulkHandlerDeps) {
    this.#d = deps;
  }

  async scope(em: EntityManager, sourceId: string): Promise<BulkScope | null> {
    const b = await loadBulk(em, sourceId);
    if (!b) return null;
    return {
      state: b.state === 'cancelled' ? 'cancelled' : 'active',
      listIds: [],
      requireConfirmed: false,
      mailboxId: null,
      trackOpens: false,
      trackClicks: false,
      channel: b.channel as BulkScope['channel'],
      ratePerSecond: b.rate_per_minute / 60,
    };
  }

  /** Mail only: a bulk message's rows are sent by `deliver`. */
  async compose(): Promise<Map<string, ComposedMail>> {
    return new Map();
  }

  async deliver(tenantId: string, sourceId: string, row: BulkRecipientRow): Promise<Delivered> {
    const actor = systemActor(tenantId, 'Filo bulk');
    const before = await inTenant(this.#d.orm, actor, (uow) => this.#write(uow, sourceId, row));
    if (before === 'queued') await this.#d.outbound.deliver({ tenantId, messageId: row.id });
    const [m] = (await inTenant(this.#d.orm, actor, (uow) =>
      uow.em.execute(`select status, error, error_code from messages where id = ?`, [row.id]),
    )) as { status: string; error: string | null; error_code: string | null }[];
    if (!m) return { status: 'failed', response: 'bulk message gone' };
    if (m.status === 'failed' || m.status === 'undelivered')
      return { status: 'failed', response: [m.error_code, m.error].filter(Boolean).join(' ') || m.status };
    // Sent, or rescheduled by the provider's 429 (the send job owns it now), or in doubt after a crash.
    return { status: 'sent', response: m.status, transport: 'messaging' };
  }

  /** The row's message, written once (its id is the row's): answers its status. */
  async #write(uow: UnitOfWork, sourceId: string, row: BulkRecipientRow): Promise<string> {
    const { em } = uow;
    const [existing] = (await em.execute(`select status from messages where id = ?`, [row.id])) as {
      status: string;
    }[];
    if (existing) return existing.status;
    const b = await loadBulk(em, sourceId);
    if (!b) throw new Error('bulk message gone');
    const account = await this.#d.accounts.load(uow, b.account_id);
    const [c] = row.contactId
      ? ((await em.execute(
          `select ct.first_name, ct.last_name, ct.email, ct.phone, ct.company_id, co.name as company
             from contacts ct left join companies co on co.id = ct.company_id where ct.id = ?`,
          [row.contactId],
        )) as Record<string, string | null>[])
      : [];
    const fields = {
      first_name: c?.first_name ?? '',
      last_name: c?.last_name ?? '',
      name: [c?.first_name, c?.last_name].filter(Boolean).join(' '),
      email: c?.email ?? '',
      phone: c?.phone ?? '',
      company: c?.company ?? '',
    };
    // Template variables may name contact fields (`{{first_name}}`): filled per recipient.
    const variables = Object.fromEntries(
      Object.entries(b.variables ?? {}).map(([k, v]) => [k, renderTemplate(v, fields)]),
    );
    const text = b.template_id ? fill(b.body ?? '', variables) : renderTemplate(b.text ?? '', fields);
    const conversation = await em.findOne(
      ConversationSchema,
      { mailboxId: account.row.mailboxId, channel: b.channel, participants: { $contains: [row.address] } },
      { orderBy: { lastMessageAt: 'desc' } },
    );
    const now = new Date();
    const link = conversation
      ? { contactId: conversation.contactId ?? null, companyId: conversation.companyId ?? null }
      : { contactId: row.contactId, companyId: (c?.company_id as string | null) ?? null };
    const subject = conversation?.subject ?? row.address;
    await this.#d.conversations.openOrAppend(uow, {
      channel: b.channel,
      mailboxId: account.row.mailboxId,
      conversationId: conversation?.id ?? null,
      open: { subject, normalizedSubject: '' },
      author: 'team',
      direction: 'outbound',
      participants: [row.address],
      link,
      at: now,
      announce: { status: 'queued' },
      message: {
        id: row.id,
        channel: b.channel,
        classification: 'message',
        messagingAccountId: account.row.id,
        fromAddress: null,
        toAddress: row.address,
        subject: truncateGraphemes(subject, 998),
        text,
        html: null,
        status: 'queued',
        statusAt: now,
        sentBy: null,
        contactId: link.contactId,
        companyId: link.companyId,
        messaging: b.template_id
          ? { templateId: b.template_id, providerTemplateId: b.provider_template_id, variables }
          : null,
      },
    });
    return 'queued';
  }

  /** Every row is terminal: the bulk is done (a cancelled one stays cancelled); the page hears it. */
  async onFinished(uow: UnitOfWork, sourceId: string): Promise<void> {
    await uow.em.execute(
      `update message_bulks set state = case when state = 'cancelled' then state else 'done' end,
              finished_at = coalesce(finished_at, now()), updated_at = now(), version = version + 1
        where id = ?`,
      [sourceId],
    );
  }
}
