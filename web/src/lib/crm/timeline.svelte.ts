import { ApiError } from '../api.ts';
import { concerns, listen } from '../realtime.ts';
import { timeline as timelineApi } from './api.ts';
import type { Activity, EntityType } from './types.ts';

/**
 * The timeline of a record (a company's includes its contacts' and deals'), or of the whole workspace: newest
 * first, older pages on demand, new activities live at the top. After a reconnect it fetches what it missed.
 */
export class TimelineFeed {
  items = $state<Activity[]>([]);
  loading = $state(false);
  loadingOlder = $state(false);
  hasOlder = $state(false);
  error = $state<string | null>(null);
  /** Ids of activities that arrived live, for a short highlight. */
  fresh = $state<string[]>([]);

  readonly entityType: EntityType | undefined;
  readonly entityId: string | undefined;
  readonly pageSize: number;

  constructor(entityType?: EntityType, entityId?: string, pageSize = 30) {
    this.entityType = entityType;
    this.entityId = entityId;
    this.pageSize = pageSize;
  }

  #scope() {
    return this.entityType && this.entityId ? { entityType: this.entityType, entityId: this.entityId } : {};
  }

  #accepts(activity: Activity): boolean {
    return !this.entityType || !this.entityId || concerns(activity, this.entityType, this.entityId);
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      const items = await timelineApi({ ...this.#scope(), limit: this.pageSize });
      this.items = items;
      this.hasOlder = items.length === this.pageSize;
      this.error = null;
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

  add(activity: Activity): void {
    if (!this.#accepts(activity)) return;
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

  /** Starts listening (call it before `load()`, so that nothing falls between the two); returns the teardown. */
  start(): () => void {
    const offActivity = listen('activity:new', (activity) => this.add(activity));
    const offConnect = listen('connect', () => void this.#catchUp());
    return () => {
      offActivity();
      offConnect();
    };
  }
}
