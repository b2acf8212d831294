import { Migration } from '@mikro-orm/migrations';

/**
 * The reminder job's look-up of tasks whose reminder or due time has come, across workspaces (the job has no tenant),
 * and the partial indexes it runs on: only open tasks not yet reminded are ever in them.
 */
export class Migration20261207010000_task_reminders extends Migration {
  override up(): void {
    this.addSql(
      `create index "tasks_due_unnotified_index" on "tasks" ("due_at") where "done_at" is null and "due_notified_at" is null and "assignee_id" is not null;`,
    );
    this.addSql(
      `create index "tasks_remind_unnotified_index" on "tasks" ("remind_at") where "done_at" is null and "reminded_at" is null and "assignee_id" is not null;`,
    );
    this.addSql(`create function filo_due_task_reminders(p_now timestamptz)
returns table (tenant_id uuid, task_id uuid)
language sql stable security definer set search_path = public as $$
  select d.tenant_id, d.id from (
    (select t.tenant_id, t.id, t.due_at as at from tasks t
      where t.done_at is null and t.due_notified_at is null and t.assignee_id is not null and t.due_at <= p_now
      order by t.due_at limit 200)
    union
    (select t.tenant_id, t.id, t.remind_at as at from tasks t
      where t.done_at is null and t.reminded_at is null and t.assignee_id is not null and t.remind_at <= p_now
      order by t.remind_at limit 200)
  ) d
  order by d.at
$$;`);
    this.addSql(`grant execute on function filo_due_task_reminders(timestamptz) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_due_task_reminders(timestamptz);`);
    this.addSql(`drop index if exists "tasks_due_unnotified_index";`);
    this.addSql(`drop index if exists "tasks_remind_unnotified_index";`);
  }
}
