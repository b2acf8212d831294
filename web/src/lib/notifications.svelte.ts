import { notifications as api } from './crm/api.ts';
import type { Notification as AppNotification } from '#contracts/timeline';
import { notificationText } from '#lib/timeline/notification-text.ts';
import { t } from './i18n/index.svelte.ts';
import { listen } from './realtime.ts';
import { toasts } from './toasts.svelte.ts';
import { hasTarget, openNotification } from './navigate.ts';

/** The signed-in user's notifications: the unread count for the bell (live), and the list for its page. */
class Notifications {
  unread = $state(0);
  items = $state<AppNotification[]>([]);
  loading = $state(false);
  #stop: (() => void) | null = null;

  /** Listens for new notifications and fetches the count; returns the teardown. */
  start(): () => void {
    this.#stop?.();
    const offNew = listen('notification:new', ({ notification, unread }) => {
      // The server counted this after the insert: a count or list asked for before it is older, so it is dropped.
      this.#writes++;
      this.unread = unread;
      this.items = [notification, ...this.items.filter((n) => n.id !== notification.id)];
      if (notification.type === 'mention') {
        const who = notification.actor?.name ?? t().common.someone;
        toasts.push({
          tone: 'info',
          message: t().notifications.mentionToast(who),
          detail: notification.body ?? notificationText(notification),
          open: hasTarget(notification) ? () => void this.open(notification) : undefined,
        });
      } else if (notification.type === 'task_reminder' || notification.type === 'task_assigned') {
        const m = t().tasks.notices;
        toasts.push({
          tone: 'info',
          message: notification.type === 'task_reminder' ? m.reminderToast : m.assignedToast,
          detail: notificationText(notification),
          open: hasTarget(notification) ? () => void this.open(notification) : undefined,
        });
      }
      if (notification.type === 'meeting_invitation')
        toasts.push({
          tone: 'info',
          message: t().meetingsMore.meetings.invitedToast(notification.actor?.name ?? t().common.someone),
          detail: notificationText(notification),
          open: () => void this.open(notification),
        });
    });
    // After a reconnect the count may have moved while we were away.
    const offConnect = listen('connect', () => void this.refreshCount());
    void this.refreshCount();
    this.#stop = () => {
      offNew();
      offConnect();
    };
    return () => this.stop();
  }

  stop(): void {
    this.#stop?.();
    this.#stop = null;
    this.unread = 0;
    this.items = [];
  }

  /**
   * Bumped by every mark-read and every live notice: a list or count asked for before one answers with what has
   * since changed (a reconnect's count, answered after a live notice, would take the bell back by one).
   */
  #writes = 0;

  async refreshCount(): Promise<void> {
    try {
      const asked = this.#writes;
      const { unread } = await api.list(true);
      if (asked === this.#writes) this.unread = unread;
    } catch {
      // The bell keeps its last count; the page shows errors.
    }
  }

  async load(unreadOnly = false): Promise<void> {
    this.loading = true;
    try {
      let asked: number;
      let page: Awaited<ReturnType<typeof api.list>>;
      // A mark-read that answered meanwhile makes this answer stale (it would bring the read notices back unread).
      do {
        asked = this.#writes;
        page = await api.list(unreadOnly);
      } while (asked !== this.#writes);
      this.items = page.items;
      this.unread = page.unread;
    } finally {
      this.loading = false;
    }
  }

  async markRead(ids: string[]): Promise<void> {
    if (!ids.length) return;
    this.#writes++;
    const { unread } = await api.read({ ids });
    const now = new Date().toISOString();
    this.items = this.items.map((n) => (ids.includes(n.id) ? { ...n, readAt: n.readAt ?? now } : n));
    this.unread = unread;
  }

  /** Marks it read and goes to what it is about. */
  async open(n: AppNotification): Promise<void> {
    if (!n.readAt) void this.markRead([n.id]).catch(() => {});
    await openNotification(n);
  }

  async markAllRead(): Promise<void> {
    this.#writes++;
    const { unread } = await api.read({ all: true });
    const now = new Date().toISOString();
    this.items = this.items.map((n) => ({ ...n, readAt: n.readAt ?? now }));
    this.unread = unread;
  }
}

export const notifications = new Notifications();
