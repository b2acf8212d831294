/** Live task state of the web app: the nav badge, lists that follow `task:changed`, and the one task dialog. */
import { getSocket } from '#lib/socket.ts';
import type { Task, TaskCreate, TaskQuery } from '#contracts/tasks';
import { tasksApi } from './api.ts';

/** A burst of changes (a bulk edit, a reconnect) refetches once. */
const DEBOUNCE_MS = 250;

/** Calls `fn` (debounced) on every task change in the workspace and after each reconnect; returns the teardown. */
export function onTaskChanges(fn: () => void): () => void {
  const socket = getSocket();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(fn, DEBOUNCE_MS);
  };
  socket.on('task:changed', soon);
  socket.on('connect', soon);
  return () => {
    clearTimeout(timer);
    socket.off('task:changed', soon);
    socket.off('connect', soon);
  };
}

/** The badge on "Tasks" in the navigation: the member's open tasks due today or overdue. */
class TaskBadge {
  due = $state(0);
  #asked = 0;

  start(): () => void {
    void this.refresh();
    const stop = onTaskChanges(() => void this.refresh());
    return () => {
      stop();
      this.due = 0;
    };
  }

  async refresh(): Promise<void> {
    const asked = ++this.#asked;
    try {
      const s = await tasksApi.summary();
      if (asked === this.#asked) this.due = s.overdue + s.today;
    } catch {
      // The badge keeps its last number.
    }
  }
}

export const taskBadge = new TaskBadge();

/** One list of tasks for a query (a bucket of My tasks, a record's panel), refetched live. */
export class TaskList {
  items = $state.raw<Task[]>([]);
  nextCursor = $state<string | null>(null);
  loading = $state(true);
  error = $state<string | null>(null);
  readonly #params: Partial<Record<keyof TaskQuery, string | number>>;
  #asked = 0;

  constructor(params: Partial<Record<keyof TaskQuery, string | number>>) {
    this.#params = params;
  }

  /** Loads now and again on every change; returns the teardown. */
  start(): () => void {
    void this.load();
    return onTaskChanges(() => void this.load());
  }

  async load(): Promise<void> {
    const asked = ++this.#asked;
    try {
      const page = await tasksApi.list(this.#params);
      if (asked !== this.#asked) return;
      this.items = page.items;
      this.nextCursor = page.nextCursor;
      this.error = null;
    } catch (err) {
      if (asked === this.#asked) this.error = (err as Error).message;
    } finally {
      if (asked === this.#asked) this.loading = false;
    }
  }

  async more(): Promise<void> {
    if (!this.nextCursor) return;
    const page = await tasksApi.list({ ...this.#params, cursor: this.nextCursor });
    this.items = [...this.items, ...page.items.filter((t) => !this.items.some((x) => x.id === t.id))];
    this.nextCursor = page.nextCursor;
  }

  /** Shows a task as the server answered it at once (the change event refetches the list anyway). */
  replace(task: Task): void {
    this.items = this.items.map((t) => (t.id === task.id ? task : t));
  }
}

/** What a new task starts with, from where it is made (a note's line, a conversation, a record). */
export type TaskPrefill = Partial<TaskCreate> & { linkName?: string | null };

/** The one task dialog of the app, opened from anywhere: a new task (with a prefill) or an existing one. */
class TaskDialogState {
  open = $state(false);
  task = $state.raw<Task | null>(null);
  prefill = $state.raw<TaskPrefill>({});
  /** Bumped on each opening, so the form starts afresh. */
  key = $state(0);

  create(prefill: TaskPrefill = {}): void {
    this.task = null;
    this.prefill = prefill;
    this.key++;
    this.open = true;
  }

  edit(task: Task): void {
    this.task = task;
    this.prefill = {};
    this.key++;
    this.open = true;
  }

  close(): void {
    this.open = false;
  }
}

export const taskDialog = new TaskDialogState();

/** Whether an open task's due time has passed. */
export const isOverdue = (task: Task, now: number): boolean =>
  !task.doneAt && !!task.dueAt && Date.parse(task.dueAt) < now;
