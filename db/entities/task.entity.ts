import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { TASK_PRIORITIES, TASK_SOURCES } from '#contracts/tasks';
import { tenantOwned, userRef, versioned } from './tenant-owned.ts';

/** Something a member has to do, by a date, about a record or a conversation (contracts/tasks.ts). */
export const TaskSchema = defineEntity({
  name: 'Task',
  tableName: 'tasks',
  properties: {
    ...tenantOwned,
    title: p.string().length(500),
    description: p.text().nullable(),
    dueAt: p.datetime().nullable(),
    remindAt: p.datetime().nullable(),
    priority: p.enum(TASK_PRIORITIES).default('normal'),
    assigneeId: () => userRef('assignee_id'),
    companyId: p.uuid().nullable(),
    contactId: p.uuid().nullable(),
    dealId: p.uuid().nullable(),
    conversationId: p.uuid().nullable(),
    noteId: p.uuid().nullable(),
    source: p.enum(TASK_SOURCES).default('manual'),
    /** Set by the reminder job when it has notified the assignee of the earlier reminder / of the due time. */
    remindedAt: p.datetime().nullable(),
    dueNotifiedAt: p.datetime().nullable(),
    doneAt: p.datetime().nullable(),
    doneBy: () => userRef('done_by'),
    createdBy: () => userRef('created_by'),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date())
      .defaultRaw('now()'),
    version: versioned(),
  },
  indexes: [
    { properties: ['tenantId', 'assigneeId', 'doneAt', 'dueAt'] },
    { properties: ['tenantId', 'companyId'] },
    { properties: ['tenantId', 'contactId'] },
    { properties: ['tenantId', 'dealId'] },
    { properties: ['tenantId', 'conversationId'] },
    // The reminder job's look-ups (filo_due_task_reminders): open, assigned tasks not yet reminded.
    {
      name: 'tasks_due_unnotified_index',
      expression: `create index "tasks_due_unnotified_index" on "tasks" ("due_at") where "done_at" is null and "due_notified_at" is null and "assignee_id" is not null`,
    },
    {
      name: 'tasks_remind_unnotified_index',
      expression: `create index "tasks_remind_unnotified_index" on "tasks" ("remind_at") where "done_at" is null and "reminded_at" is null and "assignee_id" is not null`,
    },
  ],
});
export type Task = InferEntity<typeof TaskSchema>;
