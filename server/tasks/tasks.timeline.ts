import type { NewActivity } from '../timeline/activities.service.ts';
import type { NewNotification } from '../timeline/notifications.service.ts';
import type { TaskRow } from './tasks.queries.ts';

export type TaskEvent = 'task.created' | 'task.updated' | 'task.completed' | 'task.reopened' | 'task.deleted';

const VERB: Record<TaskEvent, string> = {
  'task.created': 'Task created',
  'task.updated': 'Task updated',
  'task.completed': 'Task completed',
  'task.reopened': 'Task reopened',
  'task.deleted': 'Task deleted',
};

/** The record whose timeline tells of the task: its deal, else contact, else company; else its conversation. */
function timelineOf(r: TaskRow): { entityType: string; entityId: string } | null {
  if (r.deal_id && r.deal_title !== null) return { entityType: 'deal', entityId: r.deal_id };
  if (r.contact_id && r.contact_name !== null) return { entityType: 'contact', entityId: r.contact_id };
  if (r.company_id && r.company_name !== null) return { entityType: 'company', entityId: r.company_id };
  if (r.conversation_id && r.conversation_subject !== null)
    return { entityType: 'conversation', entityId: r.conversation_id };
  return null;
}

/**
 * The timeline entry of a task event, or null for a task about no record. A task about a conversation is kept to
 * those who see its mailbox, wherever its entry is (a contact's timeline too).
 */
export function taskTimeline(r: TaskRow, type: TaskEvent, changes?: Record<string, unknown>): NewActivity | null {
  const on = timelineOf(r);
  if (!on) return null;
  return {
    ...on,
    companyId: r.company_name !== null ? r.company_id : null,
    type,
    title: `${VERB[type]}: ${r.title}`,
    mailboxId: r.conversation_mailbox_id,
    data: {
      taskId: r.id,
      title: r.title,
      dueAt: r.due_at ? new Date(r.due_at).toISOString() : null,
      assignee: r.assignee_id ? { id: r.assignee_id, name: r.assignee_name ?? '' } : null,
      ...(changes ? { changes: JSON.parse(JSON.stringify(changes)) as Record<string, unknown> } : {}),
    },
  };
}

/** A notice to the assignee: the task is due (or its earlier reminder time came), or was given to them. */
export function taskNotice(r: TaskRow, type: 'task_reminder' | 'task_assigned'): NewNotification {
  const link =
    r.conversation_id && r.conversation_subject !== null
      ? { entityType: 'conversation', entityId: r.conversation_id }
      : timelineOf(r);
  return {
    type,
    title: type === 'task_reminder' ? `Task due: ${r.title}` : `Task assigned to you: ${r.title}`,
    body: r.description ? r.description.slice(0, 500) : null,
    // Opening it goes to the record it is about (a conversation's notice is seen only by who sees its mailbox).
    entityType: link?.entityType ?? null,
    entityId: link?.entityId ?? null,
    data: { taskId: r.id, title: r.title, dueAt: r.due_at ? new Date(r.due_at).toISOString() : null },
  };
}
