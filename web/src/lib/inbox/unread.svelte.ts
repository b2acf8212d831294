import { getSocket } from '#lib/socket.ts';
import { conversations } from './api.ts';

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
    const changed = () => this.refreshSoon();
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
