import { z } from './zod.ts';
import { isoDate, page, uuid } from './common.ts';

/**
 * Tasks: something a member has to do, by a date, about a record (company, contact, deal) or a conversation.
 * Made by hand, from a line of a note, from the inbox, and later by sequences' manual steps and bots (`source`).
 */

export const TASK_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const taskPriority = z.enum(TASK_PRIORITIES);
export type TaskPriority = z.infer<typeof taskPriority>;

export const TASK_SOURCES = ['manual', 'note', 'inbox', 'sequence', 'bot', 'api'] as const;
export const taskSource = z.enum(TASK_SOURCES);
export type TaskSource = z.infer<typeof taskSource>;

/** The record a task is about, named as it is now (for lists that show tasks of many records). */
export const taskLink = z.object({
  type: z.enum(['company', 'contact', 'deal', 'conversation']),
  id: uuid,
  name: z.string(),
});
export type TaskLink = z.infer<typeof taskLink>;

const person = z.object({ id: uuid, name: z.string() });

export const task = z.object({
  id: uuid,
  title: z.string(),
  description: z.string().nullable(),
  /** When it is due (an instant; an all-day task is due at the end of its day in the workspace's time zone). */
  dueAt: isoDate.nullable(),
  /** An earlier reminder than the due time, when one was asked for. */
  remindAt: isoDate.nullable(),
  priority: taskPriority,
  assignee: person.nullable(),
  companyId: uuid.nullable(),
  contactId: uuid.nullable(),
  dealId: uuid.nullable(),
  conversationId: uuid.nullable(),
  /** The note (and its line) the task was made from. */
  noteId: uuid.nullable(),
  /** The most specific linked record: the deal, else the contact, the conversation, the company. */
  link: taskLink.nullable(),
  source: taskSource,
  doneAt: isoDate.nullable(),
  doneBy: person.nullable(),
  createdBy: person.nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  version: z.number().int(),
});
export type Task = z.infer<typeof task>;

const title = z.string().trim().min(1).max(500);
/** Ids sent by a client are checked as such (a malformed one is a 400, never a query on it). */
const id = z.uuid();
const description = z.string().max(20_000).nullable();
const when = z.iso.datetime({ offset: true }).nullable();

export const taskCreate = z
  .object({
    title,
    description: description.optional(),
    dueAt: when.optional(),
    remindAt: when.optional(),
    priority: taskPriority.default('normal'),
    /** Defaults to the member creating it. */
    assigneeId: id.nullable().optional(),
    companyId: id.nullable().optional(),
    contactId: id.nullable().optional(),
    dealId: id.nullable().optional(),
    conversationId: id.nullable().optional(),
    noteId: id.nullable().optional(),
    source: z.enum(['manual', 'note', 'inbox', 'api']).default('manual'),
  })
  .strict();
export type TaskCreate = z.input<typeof taskCreate>;

/** A change; `done: true` completes it, `done: false` reopens it. `version` is the copy the change was made on. */
export const taskPatch = z
  .object({
    version: z.number().int(),
    title: title.optional(),
    description: description.optional(),
    dueAt: when.optional(),
    remindAt: when.optional(),
    priority: taskPriority.optional(),
    assigneeId: id.nullable().optional(),
    done: z.boolean().optional(),
  })
  .strict();
export type TaskPatch = z.input<typeof taskPatch>;

/** GET /api/tasks: `view=mine` is the member's open tasks; the buckets are in the workspace's time zone. */
export const taskQuery = z
  .object({
    assignee: z.union([z.literal('me'), z.literal('none'), id]).optional(),
    status: z.enum(['open', 'done', 'all']).default('open'),
    due: z.enum(['overdue', 'today', 'upcoming', 'none']).optional(),
    companyId: id.optional(),
    contactId: id.optional(),
    dealId: id.optional(),
    conversationId: id.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();
export type TaskQuery = z.input<typeof taskQuery>;

export const taskPage = page(task);

/** GET /api/tasks/summary: the member's open tasks per bucket (the home and the nav badge). */
export const taskSummary = z.object({
  overdue: z.number().int(),
  today: z.number().int(),
  upcoming: z.number().int(),
  noDate: z.number().int(),
});
export type TaskSummary = z.infer<typeof taskSummary>;
