import { goto } from '$app/navigation';
import { resolve } from '$app/paths';
import { page } from '$app/state';
import { t } from '#lib/i18n/index.svelte.ts';
import { getSocket } from '#lib/socket.ts';
import { toasts } from '#lib/toasts.svelte.ts';
import type { ConversationChange } from '#contracts/inbox';
import { conversations, mailboxes } from './api.ts';

/** A burst of mail refreshes the count once. */
const DEBOUNCE_MS = 250;

/**
 * The unread badge on "Inbox" in the app's navigation: conversations with mail this user has not read, over every
 * shared mailbox and account they see. Live: it follows the inbox rooms and counts again on each change, on a
 * reconnect, and when this user reads a conversation.
 */
class InboxBadge {
  unread = $state(0);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #asked = 0;

  start(): () => void {
    const socket = getSocket();
    const join = () => {
      socket.emit('inbox:watch', {}, () => {});
      this.refreshSoon();
    };
    const changed = (change: ConversationChange) => {
      this.refreshSoon();
      void this.#announce(change);
    };
    socket.on('conversation:updated', changed);
    socket.on('connect', join);
    if (socket.connected) join();
    else void this.refresh();
    return () => {
      socket.off('conversation:updated', changed);
      socket.off('connect', join);
      clearTimeout(this.#timer);
      this.unread = 0;
    };
  }

  /** A conversation that mail has just opened, while this user is elsewhere in the app: a toast with a link. */
  async #announce(change: ConversationChange): Promise<void> {
    if (change.reason !== 'message' || change.messageCount !== 1 || change.actorId !== null) return;
    if (page.route.id?.startsWith('/(app)/inbox')) return;
    try {
      const [conversation, boxes] = await Promise.all([conversations.get(change.id), mailboxes.list()]);
      const mailbox = boxes.find((m) => m.id === change.mailboxId)?.name ?? '';
      toasts.push(
        {
          tone: 'info',
          message: t().polish.inbox.newConversation(mailbox),
          detail: conversation.subject,
          open: () => void goto(resolve('/(app)/inbox/[[id]]', { id: change.id })),
        },
        10_000,
      );
    } catch {
      // Gone or not visible any more: nothing to announce.
    }
  }

  refreshSoon(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.refresh(), DEBOUNCE_MS);
  }

  async refresh(): Promise<void> {
    const asked = ++this.#asked;
    try {
      const counts = await conversations.counts();
      // An older answer arriving after a newer one would show a count from before the latest change.
      if (asked === this.#asked) this.unread = counts.views.all?.unread ?? 0;
    } catch {
      // The badge keeps its last number; the inbox shows errors.
    }
  }
}

export const inboxBadge = new InboxBadge();
