/** Completing, reopening and deleting a task from any list, with the same messages everywhere. */
import { ApiError } from '#lib/api.ts';
import { t } from '#lib/i18n/index.svelte.ts';
import { toasts } from '#lib/toasts.svelte.ts';
import type { Task } from '#contracts/tasks';
import { tasksApi } from './api.ts';

/** Completes an open task or reopens a done one; answers the task as it is now (null if it failed). */
export async function toggleDone(task: Task): Promise<Task | null> {
  const m = t().tasks;
  try {
    const next = await tasksApi.update(task.id, { version: task.version, done: !task.doneAt });
    toasts.push({ tone: 'success', message: next.doneAt ? m.completed : m.reopened }, 3_000);
    return next;
  } catch (err) {
    toasts.error(err instanceof ApiError && err.code === 'version_conflict' ? m.conflict : (err as Error).message);
    return null;
  }
}

export async function removeTask(task: Task): Promise<boolean> {
  if (!confirm(t().tasks.deleteConfirm)) return false;
  try {
    await tasksApi.remove(task.id);
    toasts.push({ tone: 'success', message: t().tasks.deleted }, 3_000);
    return true;
  } catch (err) {
    toasts.error((err as Error).message);
    return false;
  }
}
