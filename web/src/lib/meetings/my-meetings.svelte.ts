import { ApiError } from '#lib/api.ts';
import { listen } from '#lib/realtime.ts';
import { session } from '#lib/session.svelte.ts';
import { meetings as meetingsApi } from './api.ts';
import type { Meeting } from '#contracts/meetings';

/** How far back "My meetings" reaches. */
const PAST_DAYS = 14;

/**
 * The signed-in member's meetings (hosted or invited), live: a meeting a teammate schedules with them, moves or
 * cancels arrives by `meeting:updated` on their own socket room; after a reconnect the list is read again.
 */
export class MyMeetings {
  items = $state.raw<Meeting[]>([]);
  loading = $state(true);
  error = $state<string | null>(null);

  async load(): Promise<void> {
    try {
      // A one-off instant turned into text at once: nothing to react to.
      // eslint-disable-next-line svelte/prefer-svelte-reactivity
      const from = new Date(Date.now() - PAST_DAYS * 86_400_000).toISOString();
      this.items = await meetingsApi.list({ userId: session.user?.id, from, sort: 'scheduledAt', limit: 200 });
      this.error = null;
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  /** A meeting as it now stands; `removed`: this member is no longer on it. Kept in time order. */
  put(meeting: Meeting, removed = false): void {
    const others = this.items.filter((m) => m.id !== meeting.id);
    this.items = removed
      ? others
      : [...others, meeting].sort(
          (a, b) => (a.scheduledAt ?? '').localeCompare(b.scheduledAt ?? '') || a.id.localeCompare(b.id),
        );
  }

  /** Listens for changes; returns the teardown. */
  start(): () => void {
    const offUpdated = listen('meeting:updated', ({ meeting, removed }) => this.put(meeting, removed));
    const offConnect = listen('connect', () => void this.load());
    return () => {
      offUpdated();
      offConnect();
    };
  }
}
