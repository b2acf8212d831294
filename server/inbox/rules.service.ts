import { LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import type { Rule, RuleActions } from '#contracts/inbox';
import { AutoReplyRuleSchema, type AutoReplyRule } from '../../db/entities/auto-reply-rule.entity.ts';
import { EmailTemplateSchema } from '../../db/entities/email-template.entity.ts';
import type { InboundJob } from '../../mail-gateway/inbound-store.ts';
import { isStale, versionConflict } from '../crm/version-conflict.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { Logger } from '../logger.ts';
import type { OutboundService } from '../outbound/outbound.service.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ConversationsService } from './conversations.service.ts';
import type { MailboxesService } from './mailboxes.service.ts';
import type { ruleInput, rulePatch } from './rules.schemas.ts';
import { RulesRunner, type RulesOutcome } from './rules-runner.ts';

// Re-exported so routes, OpenAPI and tests keep importing them from the service.
export { ruleInput, rulePatch } from './rules.schemas.ts';
export { isTimeZone, matches, outsideHours, type RuleInput } from './rule-match.ts';
export { AUTO_REPLY_HEADERS, type RulesOutcome } from './rules-runner.ts';

export type RuleDto = Rule;

const dto = (r: AutoReplyRule): RuleDto => ({
  id: r.id,
  mailboxId: r.mailboxId,
  name: r.name,
  enabled: r.enabled,
  position: r.position,
  conditions: r.conditions,
  actions: r.actions,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
  version: r.version,
});

/**
 * Auto-reply rules of a mailbox: admins edit them here; their evaluation on each customer message is the
 * RulesRunner's (rules-runner.ts).
 */
export class RulesService {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;
  readonly #runner: RulesRunner;

  constructor(deps: { orm: MikroORM; mailboxes: MailboxesService; inboundDomain: string; log: Logger }) {
    this.#orm = deps.orm;
    this.#mailboxes = deps.mailboxes;
    this.#runner = new RulesRunner(deps);
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

  /**
   * A patch made on `version` of the rule: a stale one (on load, or at flush against a concurrent writer) rolls back
   * and answers 409 version_conflict with the rule as it is now. Without a version the row is locked, the last write wins.
   */
  async update(
    actor: Actor,
    mailboxId: string,
    id: string,
    { version, ...patch }: z.infer<typeof rulePatch>,
  ): Promise<RuleDto> {
    try {
      return await inTenant(this.#orm, actor, (uow) => this.#update(uow, mailboxId, id, patch, version));
    } catch (err) {
      if (!isStale(err)) throw err;
      throw await inTenant(this.#orm, actor, async (uow) => {
        const current = dto(await this.#find(uow, mailboxId, id));
        return versionConflict('Rule', current, { changedBy: null, changedAt: current.updatedAt });
      });
    }
  }

  async #update(
    uow: UnitOfWork,
    mailboxId: string,
    id: string,
    patch: Omit<z.infer<typeof rulePatch>, 'version'>,
    version: number | undefined,
  ): Promise<RuleDto> {
    await this.#find(uow, mailboxId, id);
    requireWrite(uow.actor);
    requireRole(uow.actor, 'owner', 'admin');
    // Read again under the ORM's lock: the version given is checked now and again at flush (`where version = ?`).
    const rule = await uow.em.findOne(
      AutoReplyRuleSchema,
      { id },
      version === undefined
        ? { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true }
        : { lockMode: LockMode.OPTIMISTIC, lockVersion: version, refresh: true },
    );
    if (!rule) throw notFound('Rule');
    if (patch.actions) await this.#checkActions(uow, patch.actions);
    if (patch.name !== undefined) rule.name = patch.name;
    if (patch.enabled !== undefined) rule.enabled = patch.enabled;
    if (patch.position !== undefined) rule.position = patch.position;
    if (patch.conditions !== undefined) rule.conditions = patch.conditions;
    if (patch.actions !== undefined) rule.actions = patch.actions;
    await uow.em.flush();
    return dto(rule);
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
   * worker calls it for outcome `processed` only).
   */
  apply(
    job: InboundJob,
    peers: { conversations: ConversationsService; outbound: OutboundService },
    now = new Date(),
  ): Promise<RulesOutcome> {
    return this.#runner.apply(job, peers, now);
  }

  /** Of these processed messages, those whose mailbox has an enabled rule: one read per workspace for a batch. */
  withRules(jobs: InboundJob[]): Promise<Set<string>> {
    return this.#runner.withRules(jobs);
  }
}
