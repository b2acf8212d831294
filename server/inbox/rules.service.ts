import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import {
  AutoReplyRuleSchema,
  type AutoReplyRule,
  type BusinessHours,
  type RuleActions,
  type RuleConditions,
  type Weekday,
} from '../../db/entities/auto-reply-rule.entity.ts';
import { EmailMessageSchema } from '../../db/entities/email-message.entity.ts';
import { EmailTemplateSchema } from '../../db/entities/email-template.entity.ts';
import { InboundMessageSchema } from '../../db/entities/inbound-message.entity.ts';
import { MailboxSchema } from '../../db/entities/mailbox.entity.ts';
import { ConversationSchema } from '../../db/entities/conversation.entity.ts';
import type { InboundJob } from '../../mail-gateway/inbound-store.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { Logger } from '../logger.ts';
import type { OutboundService } from '../outbound/outbound.service.ts';
import { inTenant, requireRole, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import { conversationPatch, type ConversationPatch, type ConversationsService } from './conversations.service.ts';
import type { MailboxesService } from './mailboxes.service.ts';

/** Header fields of every auto-reply (RFC 3834), so that other robots do not answer it. */
export const AUTO_REPLY_HEADERS = { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' };
/** One auto-reply per sender and mailbox in this window. */
const AUTO_REPLY_WINDOW_HOURS = 24;

/** Whether `Intl` knows this IANA time zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Whether `at` falls outside the business hours, in their time zone. */
export function outsideHours(hours: BusinessHours, at: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: hours.timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = part('weekday').toLowerCase().slice(0, 3) as Weekday;
  const time = `${part('hour').padStart(2, '0')}:${part('minute').padStart(2, '0')}`;
  const open = hours.days[day];
  if (!open) return true;
  return !(time >= open.open && time < open.close);
}

const uuid = z.string().uuid();
const HHMM = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const dayHours = z
  .object({ open: z.string().regex(HHMM, 'HH:MM'), close: z.string().regex(HHMM, 'HH:MM') })
  .strict()
  .refine((d) => d.open < d.close, { message: 'closes before it opens', path: ['close'] })
  .nullable();
const businessHours = z
  .object({
    timeZone: z.string().max(100).refine(isTimeZone, 'not a known IANA time zone'),
    days: z
      .object({
        mon: dayHours.optional(),
        tue: dayHours.optional(),
        wed: dayHours.optional(),
        thu: dayHours.optional(),
        fri: dayHours.optional(),
        sat: dayHours.optional(),
        sun: dayHours.optional(),
      })
      .strict(),
  })
  .strict();
/** An address (`ana@acme.com`) or a domain (`acme.com`), lower-cased. */
const sender = z
  .string()
  .trim()
  .toLowerCase()
  .max(320)
  .regex(/^(?:[^\s@]+@)?[a-z0-9-]+(?:\.[a-z0-9-]+)+$/, 'an address or a domain');
const conditions = z
  .object({
    from: z.array(sender).max(100).optional(),
    subjectContains: z.array(z.string().trim().min(1).max(200)).max(50).optional(),
    outsideHours: businessHours.optional(),
  })
  .strict();
const actions = z
  .object({
    autoReplyTemplateId: uuid.optional(),
    assigneeId: uuid.optional(),
    tags: conversationPatch.shape.tags,
    status: z.enum(['open', 'pending', 'closed']).optional(),
  })
  .strict()
  .refine((a) => Object.values(a).some((v) => v !== undefined && !(Array.isArray(v) && !v.length)), {
    message: 'choose at least one action',
  });

export const ruleInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    enabled: z.boolean().default(true),
    /** Lower runs first; a new rule goes last without it. */
    position: z.number().int().min(0).max(100_000).optional(),
    conditions: conditions.default({}),
    actions,
  })
  .strict();
export const rulePatch = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    enabled: z.boolean().optional(),
    position: z.number().int().min(0).max(100_000).optional(),
    conditions: conditions.optional(),
    actions: actions.optional(),
    version: z.number().int().min(1).optional(),
  })
  .strict();

export interface RuleDto {
  id: string;
  mailboxId: string;
  name: string;
  enabled: boolean;
  position: number;
  conditions: RuleConditions;
  actions: RuleActions;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

const dto = (r: AutoReplyRule): RuleDto => ({
  id: r.id,
  mailboxId: r.mailboxId,
  name: r.name,
  enabled: r.enabled,
  position: r.position,
  conditions: r.conditions,
  actions: r.actions,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  version: r.version,
});

/** What the evaluation of one inbound message did. */
export interface RulesOutcome {
  matched: string[];
  autoReply: 'sent' | 'none' | 'skipped' | 'already_answered';
  reason?: string;
}

/** The facts about a customer message that the rules look at. */
export interface RuleInput {
  sender: string | null;
  subject: string;
  receivedAt: Date;
}

export function matches(c: RuleConditions, input: RuleInput): boolean {
  if (c.from?.length) {
    const s = input.sender ?? '';
    const domain = s.split('@')[1] ?? '';
    if (!c.from.some((f) => (f.includes('@') ? f === s : domain === f || domain.endsWith(`.${f}`)))) return false;
  }
  if (c.subjectContains?.length) {
    const subject = input.subject.toLowerCase();
    if (!c.subjectContains.some((w) => subject.includes(w.toLowerCase()))) return false;
  }
  if (c.outsideHours && !outsideHours(c.outsideHours, input.receivedAt)) return false;
  return true;
}

/**
 * Auto-reply rules of a mailbox (admins edit them) and their evaluation on each customer message: assignment, tags
 * and status through the conversations service, and an auto-reply through the outbound service, never to a
 * robot, a list, ourselves or the null sender, and at most once per sender and mailbox in 24 h.
 */
export class RulesService {
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

  list(actor: Actor, mailboxId: string): Promise<RuleDto[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#mailboxes.findVisible(uow, mailboxId);
      const rules = await uow.em.find(
        AutoReplyRuleSchema,
        { mailboxId },
        { orderBy: { position: 'asc', createdAt: 'asc' } },
      );
      return rules.map(dto);
    });
  }

  create(actor: Actor, mailboxId: string, input: z.infer<typeof ruleInput>): Promise<RuleDto> {
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#mailboxes.findVisible(uow, mailboxId);
      requireWrite(actor);
      requireRole(actor, 'owner', 'admin');
      await this.#checkActions(uow, input.actions);
      let position = input.position;
      if (position === undefined) {
        const [row] = (await uow.em.execute(
          `select coalesce(max(position) + 1, 0) as next from auto_reply_rules where mailbox_id = ?`,
          [mailboxId],
        )) as { next: number }[];
        position = Number(row?.next ?? 0);
      }
      const rule = uow.em.create(AutoReplyRuleSchema, {
        tenantId: actor.tenantId,
        mailboxId,
        name: input.name,
        enabled: input.enabled,
        position,
        conditions: input.conditions,
        actions: input.actions,
      });
      await uow.em.flush();
      return dto(rule);
    });
  }

  update(actor: Actor, mailboxId: string, id: string, patch: z.infer<typeof rulePatch>): Promise<RuleDto> {
    return inTenant(this.#orm, actor, async (uow) => {
      const rule = await this.#find(uow, mailboxId, id);
      requireWrite(actor);
      requireRole(actor, 'owner', 'admin');
      if (patch.version !== undefined && patch.version !== rule.version)
        throw new HttpError(409, 'version_conflict', 'Someone changed this rule meanwhile: reload it', {
          version: `the current version is ${rule.version}`,
        });
      if (patch.actions) await this.#checkActions(uow, patch.actions);
      if (patch.name !== undefined) rule.name = patch.name;
      if (patch.enabled !== undefined) rule.enabled = patch.enabled;
      if (patch.position !== undefined) rule.position = patch.position;
      if (patch.conditions !== undefined) rule.conditions = patch.conditions;
      if (patch.actions !== undefined) rule.actions = patch.actions;
      rule.version += 1;
      await uow.em.flush();
      return dto(rule);
    });
  }

  remove(actor: Actor, mailboxId: string, id: string): Promise<void> {
    return inTenant(this.#orm, actor, async (uow) => {
      const rule = await this.#find(uow, mailboxId, id);
      requireWrite(actor);
      requireRole(actor, 'owner', 'admin');
      uow.em.remove(rule);
      await uow.em.flush();
    });
  }

  async #find(uow: UnitOfWork, mailboxId: string, id: string): Promise<AutoReplyRule> {
    await this.#mailboxes.findVisible(uow, mailboxId);
    const rule = await uow.em.findOne(AutoReplyRuleSchema, { id, mailboxId });
    if (!rule) throw notFound('Rule');
    return rule;
  }

  /** The template exists in this workspace and the assignee is a member of it: else 400 naming the field. */
  async #checkActions(uow: UnitOfWork, a: RuleActions) {
    if (a.autoReplyTemplateId && !(await uow.em.findOne(EmailTemplateSchema, { id: a.autoReplyTemplateId })))
      throw new HttpError(400, 'validation_failed', 'Unknown template', {
        'actions.autoReplyTemplateId': 'not a template of this workspace',
      });
    if (a.assigneeId) {
      const rows = (await uow.em.execute(`select 1 from memberships where tenant_id = ? and user_id = ?`, [
        uow.actor.tenantId,
        a.assigneeId,
      ])) as unknown[];
      if (!rows.length)
        throw new HttpError(400, 'validation_failed', 'Unknown team member', {
          'actions.assigneeId': 'not a member of this workspace',
        });
    }
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
      const message = await em.findOne(EmailMessageSchema, { id: inbound.emailMessageId });
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
    const refusal = this.#refusal(input.sender, inbound.mailFrom ?? null, message.messageIdHeader ?? null, ours);
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
