import type { z } from 'zod';
import type { Task, TaskLink, TaskSummary, taskQuery } from '#contracts/tasks';
import type { Page } from '#contracts/common';
import { HttpError, notFound } from '../http/errors.ts';
import { visibleMailboxes } from '../timeline/mailbox-visibility.ts';
import type { UnitOfWork } from '../tenancy.ts';

export type TaskQuery = z.infer<typeof taskQuery>;

/** A task row with the names it is shown with (its people, its linked records) and its keyset sort keys. */
export interface TaskRow {
  id: string;
  title: string;
  description: string | null;
  due_at: Date | null;
  remind_at: Date | null;
  priority: Task['priority'];
  assignee_id: string | null;
  assignee_name: string | null;
  company_id: string | null;
  contact_id: string | null;
  deal_id: string | null;
  conversation_id: string | null;
  note_id: string | null;
  source: Task['source'];
  done_at: Date | null;
  done_by: string | null;
  done_by_name: string | null;
  created_by: string | null;
  created_by_name: string | null;
  created_at: Date;
  updated_at: Date;
  version: number;
  company_name: string | null;
  contact_name: string | null;
  deal_title: string | null;
  conversation_subject: string | null;
  conversation_mailbox_id: string | null;
  k_due: string;
  k_created: string;
  k_done: string | null;
}

/**
 * Tasks as members read them: every task of the workspace except those about a conversation of a mailbox the reader
 * does not see (`?` x2 = the visible mailbox ids, or null for all). Linked records are named as they are now.
 */
const FROM = `from tasks t
  left join users ua on ua.id = t.assignee_id
  left join users ud on ud.id = t.done_by
  left join users uc on uc.id = t.created_by
  left join companies co on co.id = t.company_id
  left join contacts ct on ct.id = t.contact_id
  left join deals dl on dl.id = t.deal_id
  left join conversations cv on cv.id = t.conversation_id
 where (t.conversation_id is null
        or (cv.id is not null and (?::uuid[] is null or cv.mailbox_id = any(?::uuid[]))))`;

const COLUMNS = `t.*, ua.name as assignee_name, ud.name as done_by_name, uc.name as created_by_name,
  co.name as company_name, nullif(trim(concat_ws(' ', ct.first_name, ct.last_name)), '') as contact_name,
  dl.title as deal_title, cv.subject as conversation_subject, cv.mailbox_id as conversation_mailbox_id,
  coalesce(t.due_at, 'infinity'::timestamptz)::text as k_due, t.created_at::text as k_created,
  t.done_at::text as k_done`;

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);
const person = (id: string | null, name: string | null) => (id ? { id, name: name ?? '' } : null);

/** The most specific linked record that still exists: the deal, else the contact, the conversation, the company. */
export function linkOf(r: TaskRow): TaskLink | null {
  if (r.deal_id && r.deal_title !== null) return { type: 'deal', id: r.deal_id, name: r.deal_title };
  if (r.contact_id && r.contact_name !== null) return { type: 'contact', id: r.contact_id, name: r.contact_name };
  if (r.conversation_id && r.conversation_subject !== null)
    return { type: 'conversation', id: r.conversation_id, name: r.conversation_subject };
  if (r.company_id && r.company_name !== null) return { type: 'company', id: r.company_id, name: r.company_name };
  return null;
}

export const mapTask = (r: TaskRow): Task => ({
  id: r.id,
  title: r.title,
  description: r.description,
  dueAt: iso(r.due_at),
  remindAt: iso(r.remind_at),
  priority: r.priority,
  assignee: person(r.assignee_id, r.assignee_name),
  companyId: r.company_id,
  contactId: r.contact_id,
  dealId: r.deal_id,
  conversationId: r.conversation_id,
  noteId: r.note_id,
  link: linkOf(r),
  source: r.source,
  doneAt: iso(r.done_at),
  doneBy: person(r.done_by, r.done_by_name),
  createdBy: person(r.created_by, r.created_by_name),
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
  version: r.version,
});

const ids = (visible: string[] | null) => (visible ? `{${visible.join(',')}}` : null);

/** One task the actor may see, with its names; 404 otherwise (another workspace's, or of a hidden conversation). */
export async function findTaskRow(uow: UnitOfWork, id: string): Promise<TaskRow> {
  const visible = ids(await visibleMailboxes(uow));
  const [row] = (await uow.em.execute(`select ${COLUMNS} ${FROM} and t.id = ?`, [visible, visible, id])) as TaskRow[];
  if (!row) throw notFound('Task');
  return row;
}

/**
 * The start of tomorrow in the workspace's time zone (`?` x3 = now, tenant, tenant): what ends "today" for the buckets.
 * Today is [now, tomorrow); overdue is before now; upcoming from tomorrow on.
 */
const TOMORROW = `((date_trunc('day', ?::timestamptz at time zone (select time_zone from tenants where id = ?))
                    + interval '1 day') at time zone (select time_zone from tenants where id = ?))`;

const CURSOR_VALUE = /^(infinity|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const invalidCursor = () => new HttpError(400, 'invalid_cursor', 'The cursor is not valid for this list');

function readCursor(cursor: string): [string, string, string] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (
    !Array.isArray(values) ||
    values.length !== 3 ||
    typeof values[0] !== 'string' ||
    typeof values[1] !== 'string' ||
    typeof values[2] !== 'string' ||
    !CURSOR_VALUE.test(values[0]) ||
    !CURSOR_VALUE.test(values[1]) ||
    !UUID.test(values[2])
  )
    throw invalidCursor();
  return values as [string, string, string];
}
const writeCursor = (values: [string, string, string]) => Buffer.from(JSON.stringify(values)).toString('base64url');

/**
 * A page of tasks: open ones (and `all`) by due date, undated last, then by creation; done ones newest done first.
 * Keyset pages: the cursor holds the last row's sort keys as PostgreSQL wrote them (no precision lost).
 */
export async function listTasks(uow: UnitOfWork, q: TaskQuery, now: Date): Promise<Page<Task>> {
  const { actor } = uow;
  const visible = ids(await visibleMailboxes(uow));
  const where: string[] = [];
  const params: unknown[] = [visible, visible];
  const add = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (q.assignee === 'me') add('t.assignee_id = ?', actor.userId);
  else if (q.assignee === 'none') add('t.assignee_id is null');
  else if (q.assignee) add('t.assignee_id = ?', q.assignee);
  if (q.status === 'open') add('t.done_at is null');
  if (q.status === 'done') add('t.done_at is not null');
  if (q.due === 'overdue') add('t.due_at < ?', now);
  if (q.due === 'today') add(`t.due_at >= ? and t.due_at < ${TOMORROW}`, now, now, actor.tenantId, actor.tenantId);
  if (q.due === 'upcoming') add(`t.due_at >= ${TOMORROW}`, now, actor.tenantId, actor.tenantId);
  if (q.due === 'none') add('t.due_at is null');
  if (q.companyId) add('t.company_id = ?', q.companyId);
  if (q.contactId) add('t.contact_id = ?', q.contactId);
  if (q.dealId) add('t.deal_id = ?', q.dealId);
  if (q.conversationId) add('t.conversation_id = ?', q.conversationId);
  const done = q.status === 'done';
  if (q.cursor) {
    const [k1, k2, id] = readCursor(q.cursor);
    if (done) add('(t.done_at, t.id) < (?::timestamptz, ?::uuid)', k2, id);
    else
      add(
        `(coalesce(t.due_at, 'infinity'::timestamptz), t.created_at, t.id) > (?::timestamptz, ?::timestamptz, ?::uuid)`,
        k1,
        k2,
        id,
      );
  }
  const order = done ? 't.done_at desc, t.id desc' : `coalesce(t.due_at, 'infinity'::timestamptz), t.created_at, t.id`;
  params.push(q.limit + 1);
  const rows = (await uow.em.execute(
    `select ${COLUMNS} ${FROM} ${where.map((w) => `and ${w}`).join(' ')} order by ${order} limit ?`,
    params,
  )) as TaskRow[];
  const more = rows.length > q.limit;
  const items = rows.slice(0, q.limit);
  const last = items.at(-1);
  const nextCursor =
    more && last
      ? writeCursor(done ? ['infinity', last.k_done ?? last.k_created, last.id] : [last.k_due, last.k_created, last.id])
      : null;
  return { items: items.map(mapTask), nextCursor };
}

/** The actor's own open tasks per bucket, in the workspace's time zone. */
export async function summarize(uow: UnitOfWork, now: Date): Promise<TaskSummary> {
  const { actor } = uow;
  const visible = ids(await visibleMailboxes(uow));
  const [row] = (await uow.em.execute(
    `select count(*) filter (where t.due_at < ?)::int as overdue,
            count(*) filter (where t.due_at >= ? and t.due_at < ${TOMORROW})::int as today,
            count(*) filter (where t.due_at >= ${TOMORROW})::int as upcoming,
            count(*) filter (where t.due_at is null)::int as no_date
       ${FROM} and t.assignee_id = ? and t.done_at is null`,
    [
      now,
      now,
      now,
      actor.tenantId,
      actor.tenantId,
      now,
      actor.tenantId,
      actor.tenantId,
      visible,
      visible,
      actor.userId,
    ],
  )) as { overdue: number; today: number; upcoming: number; no_date: number }[];
  return {
    overdue: row?.overdue ?? 0,
    today: row?.today ?? 0,
    upcoming: row?.upcoming ?? 0,
    noDate: row?.no_date ?? 0,
  };
}
