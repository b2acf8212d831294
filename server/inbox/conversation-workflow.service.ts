import { LockMode } from '@mikro-orm/core';
import { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import { ConversationSchema, type Conversation } from '../../db/entities/conversation.entity.ts';
import { NOTE_TYPES } from '#contracts/crm';
import type { conversationPatch } from '#contracts/inbox';
import { HttpError } from '../http/errors.ts';
import { inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import type { NoteTarget } from '../crm/notes.service.ts';
import type { ConversationChanged, Publisher } from '../timeline/publisher.ts';
import { announceChange, statusActivity } from './conversation-events.ts';
import type { MailboxesService } from './mailboxes.service.ts';
import { visibleConversation } from '../outbound/context.ts';
import { conversationDto, type ConversationDto } from './conversation-queries.service.ts';

// The inbox's write side, apart from the reads (conversation-queries.service.ts).

const uuid = z.string().uuid();

export { conversationPatch, TAGS_MAX } from '#contracts/inbox';

export type ConversationPatch = z.infer<typeof conversationPatch>;

export const noteOnConversationInput = z
  .object({
    content: z.string().trim().min(1).max(20_000),
    mentions: z.array(uuid).max(50).default([]),
    noteType: z.enum(NOTE_TYPES).default('general'),
    isPinned: z.boolean().default(false),
  })
  .strict();

/** Changes to conversations: workflow fields, snooze wake-ups and note targeting (messages: ConversationWriter). */
export class ConversationWorkflowService {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;
  readonly #activities: ActivitiesService;
  readonly #notifications: NotificationsService;
  readonly #publisher: Publisher;

  constructor(
    orm: MikroORM,
    mailboxes: MailboxesService,
    workflow: { activities: ActivitiesService; notifications: NotificationsService; publisher: Publisher },
  ) {
    this.#orm = orm;
    this.#mailboxes = mailboxes;
    this.#activities = workflow.activities;
    this.#notifications = workflow.notifications;
    this.#publisher = workflow.publisher;
  }

  /** The conversation if its mailbox is visible to the actor (one look-up of that mailbox), else 404. */
  async #find(uow: UnitOfWork, id: string): Promise<Conversation> {
    return (await visibleConversation(uow, this.#mailboxes, id)).conversation;
  }

  /**
   * Which users of this workspace see a mailbox: those it names; unless it is private (a member's own account),
   * also admins, and everyone when it names nobody.
   */
  async #seesMailbox(uow: UnitOfWork, mailboxId: string, userIds: string[]): Promise<Set<string>> {
    if (!userIds.length) return new Set();
    const rows = (await uow.em.execute(
      `select ms.user_id from memberships ms join mailboxes m on m.tenant_id = ms.tenant_id and m.id = ?
        where ms.tenant_id = ? and ms.user_id = any(?::uuid[])
          and (ms.user_id::text = any(m.member_ids)
               or (not m.private and (ms.role <> 'member' or cardinality(m.member_ids) = 0)))`,
      [mailboxId, uow.actor.tenantId, `{${userIds.join(',')}}`],
    )) as { user_id: string }[];
    return new Set(rows.map((r) => r.user_id));
  }

  async #userName(uow: UnitOfWork, userId: string): Promise<string> {
    const [row] = (await uow.em.execute(`select name from users where id = ?`, [userId])) as { name: string }[];
    return row?.name ?? '';
  }

  #announce(uow: UnitOfWork, c: Conversation, reason: ConversationChanged['reason'], changes: Record<string, unknown>) {
    announceChange(this.#publisher, uow, c, reason, changes);
  }

  #statusActivity(uow: UnitOfWork, c: Conversation, from: string, why?: string) {
    return statusActivity(this.#activities, uow, c, from, why);
  }

  /**
   * Status, assignee, tags and snooze, with an optimistic `version`. Writes `conversation.status_changed` /
   * `conversation.assigned` on the conversation, notifies a new assignee, and announces the change after commit.
   */
  update(actor: Actor, id: string, patch: ConversationPatch, now = new Date()): Promise<ConversationDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#find(uow, id);
      const c = await uow.em.findOneOrFail(
        ConversationSchema,
        { id },
        { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
      );
      if (patch.version !== undefined && patch.version !== c.version)
        throw new HttpError(409, 'version_conflict', 'Someone changed this conversation meanwhile: reload it', {
          version: `the current version is ${c.version}`,
        });
      const status = patch.status ?? c.status;
      const snoozedUntil =
        patch.snoozedUntil === undefined ? (status === 'snoozed' ? c.snoozedUntil : null) : patch.snoozedUntil;
      if (status === 'snoozed') {
        if (!snoozedUntil)
          throw new HttpError(400, 'validation_failed', 'A snooze needs a time', {
            snoozedUntil: 'required with status snoozed',
          });
        if (patch.snoozedUntil !== undefined && new Date(snoozedUntil) <= now)
          throw new HttpError(400, 'validation_failed', 'A snooze ends in the future', {
            snoozedUntil: 'must be in the future',
          });
      } else if (patch.snoozedUntil)
        throw new HttpError(400, 'validation_failed', 'Only a snoozed conversation has a snooze time', {
          snoozedUntil: 'only with status snoozed',
        });
      if (patch.assigneeId) {
        const allowed = await this.#seesMailbox(uow, c.mailboxId, [patch.assigneeId]);
        if (!allowed.has(patch.assigneeId))
          throw new HttpError(400, 'validation_failed', 'The assignee must be a team member who sees this mailbox', {
            assigneeId: 'not a member who sees this mailbox',
          });
      }

      const changes: Record<string, unknown> = {};
      const fromStatus = c.status;
      const fromAssignee = c.assigneeId ?? null;
      if (status !== c.status) changes.status = c.status = status;
      const until = snoozedUntil ? new Date(snoozedUntil) : null;
      if ((c.snoozedUntil?.getTime() ?? null) !== (until?.getTime() ?? null))
        changes.snoozedUntil = c.snoozedUntil = until;
      if (patch.assigneeId !== undefined && patch.assigneeId !== fromAssignee)
        changes.assigneeId = c.assigneeId = patch.assigneeId;
      if (patch.tags && JSON.stringify(patch.tags) !== JSON.stringify(c.tags)) changes.tags = c.tags = patch.tags;
      if (!Object.keys(changes).length) return conversationDto(uow, c);
      await uow.em.flush();

      if ('status' in changes || ('snoozedUntil' in changes && status === 'snoozed'))
        await this.#statusActivity(uow, c, fromStatus);
      if ('assigneeId' in changes) {
        const name = c.assigneeId ? await this.#userName(uow, c.assigneeId) : null;
        await this.#activities.record(uow, {
          entityType: 'conversation',
          entityId: c.id,
          companyId: null,
          type: 'conversation.assigned',
          title: name
            ? `${actor.userName} assigned “${c.subject}” to ${c.assigneeId === actor.userId ? 'themselves' : name}`
            : `${actor.userName} unassigned “${c.subject}”`,
          data: {
            conversationId: c.id,
            mailboxId: c.mailboxId,
            subject: c.subject,
            from: fromAssignee,
            to: c.assigneeId,
            assigneeName: name,
          },
        });
        if (c.assigneeId && c.assigneeId !== actor.userId)
          await this.#notifications.create(uow, c.assigneeId, {
            type: 'assignment',
            title: `${actor.userName} assigned you “${c.subject}”`,
            entityType: 'conversation',
            entityId: c.id,
            data: { subject: c.subject },
          });
      }
      this.#announce(uow, c, 'updated', changes);
      return conversationDto(uow, c);
    });
  }

  /** Reopens every snoozed conversation whose time has come (the job calls this every minute). */
  async wakeDue(now = new Date()): Promise<number> {
    const due = (await this.#orm.em
      .getConnection()
      .execute(`select tenant_id, conversation_id from filo_due_snoozes(?)`, [now])) as {
      tenant_id: string;
      conversation_id: string;
    }[];
    let woken = 0;
    for (const row of due) {
      const actor = systemActor(row.tenant_id, 'Filo');
      const done = await inTenant(this.#orm, actor, async (uow) => {
        const c = await uow.em.findOne(
          ConversationSchema,
          { id: row.conversation_id },
          { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
        );
        // Rechecked under the lock: someone may have reopened or re-snoozed it meanwhile.
        if (!c || c.status !== 'snoozed' || !c.snoozedUntil || c.snoozedUntil > now) return false;
        c.status = 'open';
        c.snoozedUntil = null;
        await uow.em.flush();
        await this.#statusActivity(uow, c, 'snoozed', 'snooze_ended');
        this.#announce(uow, c, 'updated', { status: 'open', snoozedUntil: null });
        return true;
      });
      if (done) woken++;
    }
    return woken;
  }

  /** Notes on a conversation: visible to those who see its mailbox; only they can be mentioned. */
  readonly noteTarget: NoteTarget = {
    label: 'Conversation',
    find: async (uow, id) => {
      const c = await this.#find(uow, id);
      return { name: `“${c.subject}”`, companyId: null };
    },
    checkMentions: async (uow, id, userIds) => {
      const c = await this.#find(uow, id);
      const allowed = await this.#seesMailbox(uow, c.mailboxId, userIds);
      const blind = userIds.filter((u) => !allowed.has(u));
      if (blind.length)
        throw new HttpError(400, 'validation_failed', 'Mentioned users must see this conversation’s mailbox', {
          mentions: `cannot see this mailbox: ${blind.join(', ')}`,
        });
    },
  };
}
