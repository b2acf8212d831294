import { ApiError } from '#lib/api.ts';
import { listen } from '#lib/realtime.ts';
import type { RecordWatch } from '#lib/watch.svelte.ts';
import { timeline as timelineApi } from './api.ts';
import type { RecordType } from '#contracts/common';
import type { Activity } from '#contracts/timeline';

/**
 * The timeline of a record (a company's includes its contacts' and deals'), or of the whole workspace: newest
 * first, older pages on demand, new activities live at the top. A record's timeline takes its new activities
 * from the record's watch (which also replays what was missed while offline); the workspace's listens to the
 * feed and fetches what it missed after a reconnect.
 */
export class TimelineFeed {
  items = $state<Activity[]>([]);
  loading = $state(false);
  loadingOlder = $state(false);
  hasOlder = $state(false);
  error = $state<string | null>(null);
  /** Ids of activities that arrived live, for a short highlight. */
  fresh = $state<string[]>([]);

  readonly entityType: RecordType | undefined;
  readonly entityId: string | undefined;
  readonly pageSize: number;
  #watch: RecordWatch | undefined;

  constructor(entityType?: RecordType, entityId?: string, pageSize = 30) {
    this.entityType = entityType;
    this.entityId = entityId;
    this.pageSize = pageSize;
  }

  #scope() {
    return this.entityType && this.entityId ? { entityType: this.entityType, entityId: this.entityId } : {};
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      const items = await timelineApi({ ...this.#scope(), limit: this.pageSize });
      // Keep what arrived live while the page was on its way.
      const known: Record<string, true> = Object.fromEntries(items.map((a) => [a.id, true]));
      this.items = [...items, ...this.items.filter((a) => !known[a.id])].sort((a, b) => b.seq - a.seq);
      this.hasOlder = items.length === this.pageSize;
      this.error = null;
      this.#watch?.known(items[0]?.seq ?? 0);
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  async loadOlder(): Promise<void> {
    const last = this.items.at(-1);
    if (!last || this.loadingOlder) return;
    this.loadingOlder = true;
    try {
      const older = await timelineApi({ ...this.#scope(), before: last.seq, limit: this.pageSize });
      this.#merge(older);
      this.hasOlder = older.length === this.pageSize;
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Adds activities, keeping the list unique and ordered by `seq`, newest first. */
  #merge(incoming: Activity[]): Activity[] {
    const known: Record<string, true> = Object.fromEntries(this.items.map((a) => [a.id, true]));
    const added = incoming.filter((a) => !known[a.id]);
    if (added.length) this.items = [...this.items, ...added].sort((a, b) => b.seq - a.seq);
    return added;
  }

  /** A new activity of this timeline, shown at its place and highlighted for a moment. */
  add(activity: Activity): void {
    const added = this.#merge([activity]);
    if (!added.length) return;
    this.fresh = [...this.fresh, activity.id];
    setTimeout(() => (this.fresh = this.fresh.filter((id) => id !== activity.id)), 4_000);
  }

  async #catchUp(): Promise<void> {
    if (this.loading) return;
    const newest = this.items[0];
    if (!newest) return void this.load();
    try {
      const missed = await timelineApi({ ...this.#scope(), after: newest.seq, limit: 200 });
      this.#merge(missed);
    } catch {
      // The next reconnect, or a reload, will fill the gap.
    }
  }

  /**
   * Starts listening (call it before `load()`, so that nothing falls between the two); returns the teardown.
   * A record's timeline needs the record's `watch`.
   */
  start(watch?: RecordWatch): () => void {
    if (watch) {
      this.#watch = watch;
      const off = watch.onActivity((activity) => this.add(activity));
      return () => {
        off();
        this.#watch = undefined;
      };
    }
    if (this.entityId) throw new Error('A record timeline takes its activities from the record watch');
    const offActivity = listen('activity:new', (activity) => this.add(activity));
    const offConnect = listen('connect', () => void this.#catchUp());
    return () => {
      offActivity();
      offConnect();
    };
  }
}
