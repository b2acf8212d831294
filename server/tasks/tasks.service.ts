import { LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import type { Task as TaskDto, TaskSummary, taskCreate, taskPatch, TASK_SOURCES } from '#contracts/tasks';
import type { Page } from '#contracts/common';
import type { MikroORM } from '../../db/orm.ts';
import { TaskSchema, type Task } from '../../db/entities/task.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { authorOf, inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { mailboxAudience, visibleMailboxes, seesMailbox } from '../timeline/mailbox-visibility.ts';
import { isStale, versionConflict } from '../crm/version-conflict.ts';
import { findTaskRow, listTasks, mapTask, summarize, type TaskQuery, type TaskRow } from './tasks.queries.ts';
import { taskNotice, taskTimeline, type TaskEvent } from './tasks.timeline.ts';

export type TaskCreateInput = z.infer<typeof taskCreate>;
export type TaskPatchInput = z.infer<typeof taskPatch>;

export interface TasksDeps {
  orm: MikroORM;
  activities: ActivitiesService;
  notifications: NotificationsService;
  publisher: Publisher;
}

const LINKS = ['companyId', 'contactId', 'dealId', 'conversationId'] as const;
const ts = (d: Date | null | undefined) => (d ? new Date(d).getTime() : null);
const asDate = (v: string | null | undefined): Date | null | undefined => (v == null ? v : new Date(v));

/**
 * Tasks: who has to do what, by when, about which record. Every change writes its timeline entry (on the deal, else
 * the contact, the company; a conversation's own) and its notices in the same transaction, and announces
 * `task:changed` after commit. Reminders are sent by {@link TaskReminders}.
 */
export class TasksService {
  readonly #d: TasksDeps;

  constructor(deps: TasksDeps) {
    this.#d = deps;
  }

  list(actor: Actor, q: TaskQuery, now = new Date()): Promise<Page<TaskDto>> {
    return inTenant(this.#d.orm, actor, (uow) => listTasks(uow, q, now));
  }

  summary(actor: Actor, now = new Date()): Promise<TaskSummary> {
    return inTenant(this.#d.orm, actor, (uow) => summarize(uow, now));
  }

  get(actor: Actor, id: string): Promise<TaskDto> {
    return inTenant(this.#d.orm, actor, async (uow) => mapTask(await findTaskRow(uow, id)));
  }

  create(actor: Actor, input: TaskCreateInput): Promise<TaskDto> {
    requireWrite(actor);
    return inTenant(this.#d.orm, actor, (uow) => this.createIn(uow, input));
  }

  /** A task made in the caller's transaction (a sequence's task step, with its enrolment's move). */
  async createIn(
    uow: UnitOfWork,
    input: Omit<TaskCreateInput, 'source'> & { source: (typeof TASK_SOURCES)[number] },
  ): Promise<TaskDto> {
    const { actor } = uow;
    const links = await this.#links(uow, input);
    const assigneeId = input.assigneeId === undefined ? authorOf(actor) : input.assigneeId;
    if (assigneeId) await this.#checkMember(uow, assigneeId);
    const dueAt = asDate(input.dueAt) ?? null;
    const remindAt = asDate(input.remindAt) ?? null;
    checkTimes(dueAt, remindAt);
    if (input.noteId) await this.#checkNote(uow, input.noteId);
    const task = uow.em.create(TaskSchema, {
      tenantId: actor.tenantId,
      title: input.title,
      description: input.description ?? null,
      dueAt,
      remindAt,
      priority: input.priority,
      assigneeId,
      ...links,
      noteId: input.noteId ?? null,
      source: input.source,
      createdBy: authorOf(actor),
    } as never) as Task;
    await uow.em.flush();
    const row = await findTaskRow(uow, task.id);
    await this.#record(uow, row, 'task.created');
    if (assigneeId && assigneeId !== authorOf(actor)) await this.#assigned(uow, row);
    await this.#announce(uow, row);
    return mapTask(row);
  }

  /** A change on `version` of the task: stale answers 409 with the task as it is now; `done` completes or reopens. */
  async update(actor: Actor, id: string, patch: TaskPatchInput): Promise<TaskDto> {
    requireWrite(actor);
    try {
      return await inTenant(this.#d.orm, actor, (uow) => this.#update(uow, id, patch));
    } catch (err) {
      if (!isStale(err)) throw err;
      throw await inTenant(this.#d.orm, actor, async (uow) => {
        const current = mapTask(await findTaskRow(uow, id));
        return versionConflict('Task', current, { changedBy: null, changedAt: current.updatedAt });
      });
    }
  }

  async #update(uow: UnitOfWork, id: string, { version, done, ...patch }: TaskPatchInput): Promise<TaskDto> {
    const { em, actor } = uow;
    const before = await findTaskRow(uow, id);
    const task = await em.findOne(TaskSchema, { id }, { lockMode: LockMode.OPTIMISTIC, lockVersion: version });
    if (!task) throw notFound('Task');
    if (patch.assigneeId) await this.#checkMember(uow, patch.assigneeId);
    const next = {
      title: patch.title ?? task.title,
      description: patch.description === undefined ? (task.description ?? null) : patch.description,
      dueAt: patch.dueAt === undefined ? (task.dueAt ?? null) : asDate(patch.dueAt)!,
      remindAt: patch.remindAt === undefined ? (task.remindAt ?? null) : asDate(patch.remindAt)!,
      priority: patch.priority ?? task.priority,
      assigneeId: patch.assigneeId === undefined ? (task.assigneeId ?? null) : patch.assigneeId,
    };
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    const was = {
      title: task.title,
      description: task.description ?? null,
      dueAt: task.dueAt ?? null,
      remindAt: task.remindAt ?? null,
      priority: task.priority,
      assigneeId: task.assigneeId ?? null,
    };
    for (const key of Object.keys(next) as (keyof typeof next)[]) {
      const a = was[key];
      const b = next[key];
      const same = a instanceof Date || b instanceof Date ? ts(a as Date) === ts(b as Date) : a === b;
      if (!same) changes[key] = { from: a, to: b };
    }
    const completing = done === true && !task.doneAt;
    const reopening = done === false && !!task.doneAt;
    if (!Object.keys(changes).length && !completing && !reopening) return mapTask(before);
    if (changes.dueAt || changes.remindAt) checkTimes(next.dueAt, next.remindAt);
    // A new due or reminder time is a new promise: its notice goes out again when it comes.
    if (changes.dueAt) task.dueNotifiedAt = null;
    if (changes.remindAt) task.remindedAt = null;
    Object.assign(task, next);
    if (completing) {
      task.doneAt = new Date();
      task.doneBy = authorOf(actor);
    }
    if (reopening) {
      task.doneAt = null;
      task.doneBy = null;
    }
    task.updatedAt = new Date();
    await em.flush();
    const row = await findTaskRow(uow, id);
    if (Object.keys(changes).length) {
      const named = { ...changes };
      if (named.assigneeId) named.assignee = { from: before.assignee_name ?? null, to: row.assignee_name ?? null };
      delete named.assigneeId;
      await this.#record(uow, row, 'task.updated', named);
    }
    if (completing) await this.#record(uow, row, 'task.completed');
    if (reopening) await this.#record(uow, row, 'task.reopened');
    if (changes.assigneeId && next.assigneeId && next.assigneeId !== authorOf(actor)) await this.#assigned(uow, row);
    await this.#announce(uow, row);
    return mapTask(row);
  }

  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#d.orm, actor, async (uow) => {
      const row = await findTaskRow(uow, id);
      await uow.em.nativeDelete(TaskSchema, { id });
      await this.#record(uow, row, 'task.deleted');
      await this.#announce(uow, row, true);
    });
  }

  /** The linked records, each checked to exist in the workspace (a conversation: to be seen by the actor). */
  async #links(uow: UnitOfWork, input: Omit<TaskCreateInput, 'source'>) {
    const links = {
      companyId: input.companyId ?? null,
      contactId: input.contactId ?? null,
      dealId: input.dealId ?? null,
      conversationId: input.conversationId ?? null,
    };
    const one = async (sql: string, id: string, what: string) => {
      const [row] = (await uow.em.execute(sql, [id])) as Record<string, string | null>[];
      if (!row) throw notFound(what);
      return row;
    };
    if (links.conversationId) {
      const c = await one(
        `select mailbox_id, contact_id, company_id from conversations where id = ?`,
        links.conversationId,
        'Conversation',
      );
      if (!seesMailbox(await visibleMailboxes(uow), c.mailbox_id)) throw notFound('Conversation');
      // A task about a conversation is about its customer too.
      if (!input.contactId && input.contactId !== null) links.contactId = c.contact_id ?? null;
      if (!input.companyId && input.companyId !== null) links.companyId = c.company_id ?? null;
    }
    if (links.dealId) {
      const d = await one(`select company_id from deals where id = ?`, links.dealId, 'Deal');
      links.companyId ??= d.company_id ?? null;
    }
    if (links.contactId) {
      const c = await one(`select company_id from contacts where id = ?`, links.contactId, 'Contact');
      links.companyId ??= c.company_id ?? null;
    }
    if (links.companyId) await one(`select id from companies where id = ?`, links.companyId, 'Company');
    for (const key of LINKS) if (links[key] === undefined) links[key] = null;
    return links;
  }

  async #checkMember(uow: UnitOfWork, userId: string) {
    const [row] = (await uow.em.execute(`select 1 from memberships where tenant_id = ? and user_id = ?`, [
      uow.actor.tenantId,
      userId,
    ])) as unknown[];
    if (!row)
      throw new HttpError(400, 'assignee_not_member', 'The assignee is not a member of this workspace', {
        assigneeId: 'not a member of this workspace',
      });
  }

  /** The note it was made from: one the actor sees (a conversation's note: of a mailbox they see). */
  async #checkNote(uow: UnitOfWork, noteId: string) {
    const [note] = (await uow.em.execute(
      `select n.entity_type, c.mailbox_id from notes n
         left join conversations c on n.entity_type = 'conversation' and c.id = n.entity_id
        where n.id = ?`,
      [noteId],
    )) as { entity_type: string; mailbox_id: string | null }[];
    if (!note) throw notFound('Note');
    if (note.entity_type === 'conversation' && !seesMailbox(await visibleMailboxes(uow), note.mailbox_id))
      throw notFound('Note');
  }

  async #record(uow: UnitOfWork, row: TaskRow, type: TaskEvent, changes?: Record<string, unknown>) {
    const activity = taskTimeline(row, type, changes);
    if (activity) await this.#d.activities.record(uow, activity);
  }

  #assigned(uow: UnitOfWork, row: TaskRow) {
    return this.#d.notifications.create(uow, row.assignee_id!, taskNotice(row, 'task_assigned'));
  }

  /** `task:changed` to the workspace after commit, past those who do not see the task's conversation. */
  async #announce(uow: UnitOfWork, row: TaskRow, deleted = false) {
    const { em, actor } = uow;
    const scope = row.conversation_id
      ? await mailboxAudience(em, actor.tenantId, { conversationId: row.conversation_id })
      : null;
    const change = { id: row.id, assigneeId: row.assignee_id, version: row.version, ...(deleted ? { deleted } : {}) };
    uow.afterCommit(() => this.#d.publisher.task(actor.tenantId, change, scope?.hiddenFrom));
  }
}

/** An earlier reminder is earlier than the due time. */
function checkTimes(dueAt: Date | null, remindAt: Date | null) {
  if (dueAt && remindAt && remindAt > dueAt)
    throw new HttpError(400, 'validation_failed', 'The reminder must come before the due time', {
      remindAt: 'must be before the due time',
    });
}
