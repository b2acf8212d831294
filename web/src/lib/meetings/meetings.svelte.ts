import { ApiError } from '#lib/api.ts';
import type { RecordWatch } from '#lib/watch.svelte.ts';
import { meetings as meetingsApi } from './api.ts';
import type { Meeting } from '#contracts/meetings';

/**
 * The video meetings of a company or contact (a company's include its contacts'): reloaded when the record's
 * watch hears a `meeting.*` activity, so that a call started or ended by a teammate shows at once.
 */
export class MeetingsList {
  readonly filter: { companyId: string } | { contactId: string };
  items = $state.raw<Meeting[]>([]);
  loading = $state(true);
  error = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;

  readonly live = $derived(this.items.filter((m) => m.status === 'in_progress'));
  readonly upcoming = $derived(
    this.items
      .filter((m) => m.status === 'scheduled')
      .sort((a, b) => (a.scheduledAt ?? '').localeCompare(b.scheduledAt ?? '')),
  );
  readonly past = $derived(this.items.filter((m) => m.status === 'completed' || m.status === 'cancelled'));

  constructor(filter: { companyId: string } | { contactId: string }) {
    this.filter = filter;
  }

  async load(): Promise<void> {
    try {
      this.items = await meetingsApi.list({ ...this.filter, limit: 100 });
      this.error = null;
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  /** Puts a meeting we just created or changed in place, before the activity's reload. */
  put(meeting: Meeting): void {
    this.items = [meeting, ...this.items.filter((m) => m.id !== meeting.id)];
  }

  /** Follows the record's watch; returns the teardown. */
  start(watch: RecordWatch): () => void {
    const off = watch.onActivity((activity) => {
      if (!activity.type.startsWith('meeting.')) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.load(), 150);
    });
    return () => {
      clearTimeout(this.#timer);
      off();
    };
  }
}
