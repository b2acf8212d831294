import type { MikroORM } from '../../db/orm.ts';
import type { Logger } from '../logger.ts';
import { inTenant, systemActor } from '../tenancy.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import { findTaskRow } from './tasks.queries.ts';
import { taskNotice } from './tasks.timeline.ts';

interface Claimed {
  due_at: Date | string | null;
  remind_at: Date | string | null;
  reminded_at: Date | string | null;
  due_notified_at: Date | string | null;
  done_at: Date | string | null;
  assignee_id: string | null;
}

/**
 * Task reminders: at `remind_at` and at `due_at`, one `task_reminder` notice each to the assignee. The sweep finds
 * due tasks across workspaces (filo_due_task_reminders), then each task in its own transaction under `for update
 * skip locked`: the notice and the mark that it went out commit together, so no node sends it twice and a crash
 * loses none. A done task never reminds; a new due or reminder time clears its mark (TasksService.update).
 */
export class TaskReminders {
  readonly #orm: MikroORM;
  readonly #notifications: NotificationsService;
  readonly #log: Logger;

  constructor(deps: { orm: MikroORM; notifications: NotificationsService; log: Logger }) {
    this.#orm = deps.orm;
    this.#notifications = deps.notifications;
    this.#log = deps.log;
  }

  /** Sends every reminder whose time has come by `now`; answers how many notices went out. */
  async sendDue(now = new Date()): Promise<number> {
    const due = (await this.#orm.em
      .getConnection()
      .execute(`select tenant_id, task_id from filo_due_task_reminders(?)`, [now])) as {
      tenant_id: string;
      task_id: string;
    }[];
    const seen = new Set<string>();
    let sent = 0;
    for (const row of due) {
      if (seen.has(row.task_id)) continue;
      seen.add(row.task_id);
      try {
        if (await this.#remind(row.tenant_id, row.task_id, now)) sent++;
      } catch (err) {
        this.#log.warn({ err, taskId: row.task_id }, 'task reminder not sent');
      }
    }
    return sent;
  }

  #remind(tenantId: string, taskId: string, now: Date): Promise<boolean> {
    return inTenant(this.#orm, systemActor(tenantId), async (uow) => {
      const [t] = (await uow.em.execute(
        `select due_at, remind_at, reminded_at, due_notified_at, done_at, assignee_id
           from tasks where id = ? for update skip locked`,
        [taskId],
      )) as Claimed[];
      // Locked by another node's sweep, done, or unassigned meanwhile: nothing to do here.
      if (!t || t.done_at || !t.assignee_id) return false;
      // Raw rows carry timestamps as the driver gives them (strings): compared as instants.
      const reached = (v: Date | string | null) => v !== null && new Date(v).getTime() <= now.getTime();
      const dueNow = reached(t.due_at) && !t.due_notified_at;
      const remindNow = reached(t.remind_at) && !t.reminded_at;
      if (!dueNow && !remindNow) return false;
      // Both at once (a reminder missed while down, or set after the due time passed): one notice, both marked.
      await uow.em.execute(
        `update tasks set reminded_at = case when ? then ? else reminded_at end,
                          due_notified_at = case when ? then ? else due_notified_at end
          where id = ?`,
        [remindNow || dueNow, now, dueNow, now, taskId],
      );
      const row = await findTaskRow(uow, taskId);
      await this.#notifications.create(uow, t.assignee_id, taskNotice(row, 'task_reminder'));
      return true;
    });
  }
}
