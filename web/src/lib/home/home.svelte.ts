import { ApiError, request } from '#lib/api.ts';
import { query } from '#lib/crm/api.ts';
import { conversations } from '#lib/inbox/api.ts';
import { listen } from '#lib/realtime.ts';
import { getSocket } from '#lib/socket.ts';
import type { ConversationSummary } from '#contracts/inbox';
import type { Meeting } from '#contracts/meetings';
import type { Task, TaskSummary } from '#contracts/tasks';
import type { Activity, Notification } from '#contracts/timeline';
import type { RecordName } from '#contracts/home';
import { isoFromNow } from './time.ts';

/** A burst of events (a bulk change, a reconnect) reloads a section once. */
const DEBOUNCE_MS = 300;
const WEEK_MS = 7 * 24 * 3600 * 1000;

/** One section of the Home page: loads, reloads soon after a relevant event, and says when it could not. */
abstract class Section<T> {
  items = $state.raw<T[]>([]);
  loading = $state(true);
  failed = $state(false);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #asked = 0;

  protected abstract fetch(): Promise<T[]>;

  async load(): Promise<void> {
    const asked = ++this.#asked;
    try {
      const items = await this.fetch();
      // An older answer arriving after a newer one would bring back what changed since.
      if (asked !== this.#asked) return;
      this.items = items;
      this.failed = false;
    } catch {
      if (asked === this.#asked) this.failed = true;
    } finally {
      if (asked === this.#asked) this.loading = false;
    }
  }

  loadSoon(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.load(), DEBOUNCE_MS);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

/** My open tasks (overdue and today first, as the tasks API orders them) and their counts per bucket. */
export class MyTasks extends Section<Task> {
  summary = $state<TaskSummary | null>(null);

  protected async fetch(): Promise<Task[]> {
    const [page, summary] = await Promise.all([
      request<{ items: Task[] }>(`/api/tasks${query({ assignee: 'me', status: 'open', limit: 50 })}`),
      request<TaskSummary>('/api/tasks/summary'),
    ]);
    this.summary = summary;
    return page.items;
  }

  /** Completes a task; a stale copy (409) or any failure reloads the list and rethrows. */
  async complete(task: Task): Promise<void> {
    this.items = this.items.filter((x) => x.id !== task.id);
    try {
      await request<Task>(`/api/tasks/${encodeURIComponent(task.id)}`, {
        method: 'PATCH',
        body: { version: task.version, done: true },
      });
    } finally {
      void this.load();
    }
  }

  /** Live: task activities of the workspace and task notices of mine reload the list. */
  start(): () => void {
    const offActivity = listen('activity:new', (a) => {
      if (a.type.startsWith('task.')) this.loadSoon();
    });
    const offNotice = listen('notification:new', ({ notification }) => {
      if (notification.type.startsWith('task_')) this.loadSoon();
    });
    const offConnect = listen('connect', () => this.loadSoon());
    // The tasks API's own event (any change of a task of the workspace), where the server sends it.
    const socket = getSocket() as unknown as {
      on(event: string, handler: () => void): void;
      off(event: string, handler: () => void): void;
    };
    const changed = () => this.loadSoon();
    socket.on('task:changed', changed);
    return () => {
      offActivity();
      offNotice();
      offConnect();
      socket.off('task:changed', changed);
      this.stop();
    };
  }
}

/** The meetings I host or am invited to, in the next 7 days. */
export class MyMeetings extends Section<Meeting> {
  userId: string;

  constructor(userId: string) {
    super();
    this.userId = userId;
  }

  protected async fetch(): Promise<Meeting[]> {
    const params = {
      userId: this.userId,
      status: 'scheduled',
      from: isoFromNow(-3600 * 1000),
      to: isoFromNow(WEEK_MS),
      sort: 'scheduledAt',
      limit: 5,
    };
    return (await request<{ items: Meeting[] }>(`/api/meetings${query(params)}`)).items;
  }

  start(): () => void {
    const offActivity = listen('activity:new', (a) => {
      if (a.type.startsWith('meeting.')) this.loadSoon();
    });
    const offNotice = listen('notification:new', ({ notification }) => {
      if (notification.type === 'meeting_invitation') this.loadSoon();
    });
    return () => {
      offActivity();
      offNotice();
      this.stop();
    };
  }
}

/** Conversations assigned to me with mail I have not read; live on the inbox rooms. */
export class AssignedUnread extends Section<ConversationSummary> {
  protected async fetch(): Promise<ConversationSummary[]> {
    return (await conversations.list({ assignee: 'me', unread: 'true', limit: 5 })).items;
  }

  start(): () => void {
    const socket = getSocket();
    const join = () => {
      socket.emit('inbox:watch', {}, () => {});
      this.loadSoon();
    };
    const changed = () => this.loadSoon();
    socket.on('conversation:updated', changed);
    socket.on('connect', join);
    if (socket.connected) join();
    const offNotice = listen('notification:new', ({ notification }) => {
      if (notification.type === 'assignment') this.loadSoon();
    });
    return () => {
      socket.off('conversation:updated', changed);
      socket.off('connect', join);
      offNotice();
      this.stop();
    };
  }
}

/** The notices of mentions among my recent ones. */
export class RecentMentions extends Section<Notification> {
  protected async fetch(): Promise<Notification[]> {
    const list = await request<{ items: Notification[] }>(`/api/notifications${query({ limit: 50 })}`);
    return list.items.filter((n) => n.type === 'mention').slice(0, 5);
  }

  start(): () => void {
    const off = listen('notification:new', ({ notification }) => {
      if (notification.type === 'mention') this.items = [notification, ...this.items].slice(0, 5);
    });
    return () => {
      off();
      this.stop();
    };
  }
}

type Named = RecordName['type'];
const NAMED: readonly string[] = ['company', 'contact', 'deal'];

/**
 * The current names of the records a feed's entries are on, asked in batches for the ones not known yet. A record
 * the server does not name (deleted since) keeps the name the entry was written with, if it has one.
 */
export class RecordNames {
  #names = $state<Record<string, string>>({});
  #asked: Record<string, true> = {};

  name(type: string, id: string): string | undefined {
    return this.#names[`${type}:${id}`];
  }

  async ensure(activities: Activity[]): Promise<void> {
    const wanted: Partial<Record<Named, string[]>> = {};
    for (const a of activities) {
      if (!NAMED.includes(a.entityType)) continue;
      const key = `${a.entityType}:${a.entityId}`;
      if (this.#asked[key]) continue;
      this.#asked[key] = true;
      (wanted[a.entityType as Named] ??= []).push(a.entityId);
    }
    if (!Object.keys(wanted).length) return;
    try {
      const search = Object.entries(wanted)
        .flatMap(([type, ids]) => ids.map((id) => `${type}=${encodeURIComponent(id)}`))
        .join('&');
      const { items } = await request<{ items: RecordName[] }>(`/api/home/record-names?${search}`);
      this.#names = { ...this.#names, ...Object.fromEntries(items.map((r) => [`${r.type}:${r.id}`, r.name])) };
    } catch (err) {
      // Asked again with the next entries; a refusal (400) would not change.
      if (!(err instanceof ApiError && err.status === 400))
        for (const [type, ids] of Object.entries(wanted)) for (const id of ids) delete this.#asked[`${type}:${id}`];
    }
  }
}
