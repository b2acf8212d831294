import type { Notification as AppNotification } from '#contracts/timeline';
import { locale, t } from '#lib/i18n/index.svelte.ts';
import { notifications } from '#lib/notifications.svelte.ts';
import { listen } from '#lib/realtime.ts';
import { notificationText } from '#lib/timeline/notification-text.ts';
import { notifyPrefs } from './prefs.svelte.ts';
import { TabCoordinator } from './tabs.ts';

export type BrowserPermission = NotificationPermission | 'unsupported';

const supported = () => typeof window !== 'undefined' && 'Notification' in window;
const currentPermission = (): BrowserPermission => (supported() ? Notification.permission : 'unsupported');

/** What the notification says: the bell's wording, or ours for the types it does not word yet. */
function systemText(n: AppNotification): string {
  const text = notificationText(n);
  const m = t();
  if (text !== m.notifications.title) return text;
  const actor = n.actor?.name || m.common.someone;
  switch (n.type) {
    case 'task_reminder':
      return m.notify.system.taskReminder(n.data.title);
    case 'task_assigned':
      return m.notify.system.taskAssigned(actor, n.data.title);
    case 'meeting_invitation':
      return m.notify.system.meetingInvitation(actor, n.data.title);
  }
  return text;
}

/**
 * System notifications (the Notifications API) for new notices while every Filo tab of the user is in the
 * background: shown by one tab only, in the interface language; a click focuses that tab and opens the target.
 */
class BrowserNotifier {
  permission = $state<BrowserPermission>(currentPermission());

  start(userId: string): () => void {
    const tabs = new TabCoordinator(userId);
    const stopTabs = tabs.start();
    void notifyPrefs.ensure().catch(() => {});
    // The permission may have changed in the site settings while the user was elsewhere.
    const refresh = () => (this.permission = currentPermission());
    document.addEventListener('visibilitychange', refresh);
    const off = listen('notification:new', ({ notification }) => {
      refresh();
      if (this.permission !== 'granted' || !notifyPrefs.current.browser) return;
      if (!tabs.leader || tabs.anyVisible()) return;
      this.#show(notification);
    });
    return () => {
      off();
      stopTabs();
      document.removeEventListener('visibilitychange', refresh);
    };
  }

  /** Asks the browser, only ever after the user clicked to turn them on. */
  async ask(): Promise<void> {
    if (!supported()) return;
    this.permission = await Notification.requestPermission();
  }

  #show(n: AppNotification): void {
    const shown = new Notification(systemText(n), {
      body: n.body ?? '',
      // The same notice never shows twice, even from two tabs of a browser without Web Locks.
      tag: n.id,
      lang: locale.lang,
      icon: '/favicon.svg',
    });
    shown.onclick = () => {
      window.focus();
      shown.close();
      void notifications.open(n);
    };
  }
}

export const browserNotifier = new BrowserNotifier();
