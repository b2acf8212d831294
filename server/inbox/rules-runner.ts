import { randomUUID } from 'node:crypto';
import type { MikroORM } from '../../db/orm.ts';
import { AutoReplyRuleSchema, type RuleActions } from '../../db/entities/auto-reply-rule.entity.ts';
import { MessageSchema } from '../../db/entities/message.entity.ts';
import { InboundMessageSchema } from '../../db/entities/inbound-message.entity.ts';
import { MailboxSchema } from '../../db/entities/mailbox.entity.ts';
import { ConversationSchema } from '../../db/entities/conversation.entity.ts';
import type { InboundJob } from '../../mail-gateway/inbound-store.ts';
import type { Logger } from '../logger.ts';
import type { OutboundService } from '../outbound/outbound.service.ts';
import { inTenant, systemActor } from '../tenancy.ts';
import type { ConversationPatch, ConversationsService } from './conversations.service.ts';
import type { MailboxesService } from './mailboxes.service.ts';
import { matches, type RuleInput } from './rule-match.ts';
import { prepared, runPrepared } from '../db-hot/prepared.ts';

/** Header fields of every auto-reply (RFC 3834), so that other robots do not answer it. */
export const AUTO_REPLY_HEADERS = { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' };
/** One auto-reply per sender and mailbox in this window. */
const AUTO_REPLY_WINDOW_HOURS = 24;
/** Mail whose Date is older than this gets no auto-reply. */
const STALE_MAIL_HOURS = 24;

const WITH_RULES = prepared(
  `select i.id from inbound_messages i
    where i.id = any($1::uuid[])
      and exists (select 1 from auto_reply_rules r where r.tenant_id = i.tenant_id and r.mailbox_id = i.mailbox_id and r.enabled)`,
);

/** What the evaluation of one inbound message did. */
export interface RulesOutcome {
  matched: string[];
  autoReply: 'sent' | 'none' | 'skipped' | 'already_answered';
  reason?: string;
}

/**
 * The evaluation of the rules on each customer message: assignment, tags and status through the conversations
 * service, and an auto-reply through the outbound service, never to a robot, a list, ourselves or the null
 * sender, and at most once per sender and mailbox in 24 h.
 */
export class RulesRunner {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;
  readonly #inboundDomain: string;
  readonly #log: Logger;

  constructor(deps: { orm: MikroORM; mailboxes: MailboxesService; inboundDomain: string; log: Logger }) {
    this.#orm = deps.orm;
    this.#mailboxes = deps.mailboxes;
    this.#inboundDomain = deps.inboundDomain.toLowerCase();
    this.#log = deps.log;
  }

  /**
   * Runs the enabled rules of the message's mailbox, in position order, on a processed customer message (the
   * worker calls it for outcome `processed` only). The first rule that sets the assignee, status or template wins;
   * tags add up.
   */
  async apply(
    job: InboundJob,
    peers: { conversations: ConversationsService; outbound: OutboundService },
    now = new Date(),
  ): Promise<RulesOutcome> {
    const actor = systemActor(job.tenantId, 'Filo rules');
    const found = await inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const inbound = await em.findOne(InboundMessageSchema, { id: job.inboundId });
      if (!inbound?.emailMessageId || inbound.classification !== 'message') return null;
      const message = await em.findOne(MessageSchema, { id: inbound.emailMessageId });
      if (!message || message.direction !== 'inbound' || message.classification !== 'message') return null;
      const rules = await em.find(
        AutoReplyRuleSchema,
        { mailboxId: message.mailboxId, enabled: true },
        { orderBy: { position: 'asc', createdAt: 'asc' } },
      );
      if (!rules.length) return null;
      const conversation = await em.findOne(ConversationSchema, { id: message.conversationId });
      if (!conversation) return null;
      const [tenant] = (await em.execute(`select slug from tenants where id = ?`, [job.tenantId])) as {
        slug: string;
      }[];
      const ours = (await em.find(MailboxSchema, {})).flatMap((m) => [
        this.#mailboxes.addressOf(tenant!.slug, m.localPart).toLowerCase(),
        ...(m.address ? [m.address.toLowerCase()] : []),
      ]);
      return { inbound, message, rules, conversation, ours };
    });
    if (!found) return { matched: [], autoReply: 'none' };
    const { inbound, message, rules, conversation, ours } = found;
    const input: RuleInput = {
      sender: message.fromAddress?.toLowerCase() ?? null,
      subject: message.subject,
      receivedAt: message.createdAt ?? now,
    };
    const matched = rules.filter((r) => matches(r.conditions, input));
    if (!matched.length) return { matched: [], autoReply: 'none' };

    const first = <K extends keyof RuleActions>(key: K) => matched.find((r) => r.actions[key])?.actions[key];
    const patch: ConversationPatch = {};
    const assigneeId = first('assigneeId');
    const status = first('status');
    const tags = matched.flatMap((r) => r.actions.tags ?? []);
    if (assigneeId) patch.assigneeId = assigneeId;
    if (status) patch.status = status;
    if (tags.length) patch.tags = [...new Set([...conversation.tags, ...tags])].slice(0, 20);
    if (Object.keys(patch).length)
      await peers.conversations.update(actor, conversation.id, patch).catch((err: unknown) => {
        this.#log.warn({ err, conversationId: conversation.id }, 'a rule could not change the conversation');
      });

    const names = matched.map((r) => r.name);
    const rule = matched.find((r) => r.actions.autoReplyTemplateId);
    if (!rule) return { matched: names, autoReply: 'none' };
    const written = message.sentAt ? new Date(message.sentAt).getTime() : now.getTime();
    // mail written long ago (an account's history read by its first sync, a message delayed for days): no robot reply
    const refusal =
      now.getTime() - written > STALE_MAIL_HOURS * 3_600_000
        ? 'old mail'
        : this.#refusal(input.sender, inbound.mailFrom ?? null, message.messageIdHeader ?? null, ours);
    if (refusal) {
      this.#log.info({ inboundId: inbound.id, reason: refusal }, 'no auto-reply');
      return { matched: names, autoReply: 'skipped', reason: refusal };
    }
    const sender = input.sender!;
    const claimed = await inTenant(this.#orm, actor, async ({ em }) => {
      const rows = (await em.execute(
        `insert into auto_replies_sent (id, tenant_id, mailbox_id, sender, sent_at, rule_id, email_message_id)
           values (?, ?, ?, ?, ?, ?, ?)
         on conflict (tenant_id, mailbox_id, sender) do update
           set sent_at = excluded.sent_at, rule_id = excluded.rule_id, email_message_id = excluded.email_message_id
           where auto_replies_sent.sent_at <= excluded.sent_at - interval '${AUTO_REPLY_WINDOW_HOURS} hours'
         returning id`,
        [randomUUID(), job.tenantId, message.mailboxId, sender, now, rule.id, message.id],
      )) as { id: string }[];
      return rows[0]?.id ?? null;
    });
    if (!claimed) return { matched: names, autoReply: 'already_answered' };
    try {
      await peers.outbound.reply(
        actor,
        conversation.id,
        { templateId: rule.actions.autoReplyTemplateId, format: 'markdown', to: [sender] },
        { headers: AUTO_REPLY_HEADERS },
      );
    } catch (err) {
      // Not sent: the sender may be answered by the next message.
      await inTenant(this.#orm, actor, ({ em }) =>
        em.execute(`delete from auto_replies_sent where id = ?`, [claimed]),
      ).catch(() => {});
      throw err;
    }
    return { matched: names, autoReply: 'sent' };
  }

  /**
   * The inbound ids among `jobs` whose mailbox has an enabled rule. A batch of mail asks once per workspace in it,
   * so that messages to a mailbox without rules (most) cost no transaction of their own.
   */
  async withRules(jobs: InboundJob[]): Promise<Set<string>> {
    const byTenant = new Map<string, string[]>();
    for (const j of jobs) byTenant.set(j.tenantId, [...(byTenant.get(j.tenantId) ?? []), j.inboundId]);
    const found = new Set<string>();
    for (const [tenantId, ids] of byTenant) {
      const rows = await inTenant(this.#orm, systemActor(tenantId, 'Filo rules'), (uow) =>
        runPrepared<{ id: string }>(uow, WITH_RULES, [ids]),
      );
      for (const r of rows) found.add(r.id);
    }
    return found;
  }

  /** Why this message must not be answered by a robot, or null. */
  #refusal(sender: string | null, mailFrom: string | null, messageId: string | null, ours: string[]): string | null {
    if (!mailFrom?.trim() || mailFrom.trim() === '<>') return 'null sender';
    if (!sender) return 'no sender';
    const isOurDomain = (d: string) => d === this.#inboundDomain || d.endsWith(`.${this.#inboundDomain}`);
    if (ours.includes(sender) || ours.includes(mailFrom.toLowerCase()) || isOurDomain(sender.split('@')[1] ?? ''))
      return 'our own address';
    const idDomain = messageId?.split('@')[1]?.toLowerCase();
    if (idDomain && isOurDomain(idDomain)) return 'our own Message-ID';
    return null;
  }
}
