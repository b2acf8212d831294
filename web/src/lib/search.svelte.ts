import { companies, contacts, search as searchApi } from './crm/api.ts';
import { fullName } from './format.ts';
import type { SearchHit } from '#contracts/crm';

const DEBOUNCE_MS = 150;
const RECENT_MAX = 8;

/** A record this user opened lately; `title` is null until the palette has asked the server for it. */
export interface RecentItem {
  type: SearchHit['type'];
  id: string;
  title: string | null;
  subtitle: string | null;
  companyId: string | null;
}

/**
 * The records this user opened lately, newest first, kept in this browser's localStorage under the user's id (a
 * shared computer shows each person their own). Records opened by URL are kept by type and id, and named the
 * next time the palette shows them.
 */
class RecentItems {
  items = $state<RecentItem[]>([]);
  #userId: string | null = null;
  /** Opened before the user was known (the first page of a load): kept once they are. */
  #pending: RecentItem[] = [];

  #key = () => `filo.recent.${this.#userId}`;

  load(userId: string): void {
    if (this.#userId === userId) return;
    this.#userId = userId;
    try {
      const stored: unknown = JSON.parse(localStorage.getItem(this.#key()) ?? '[]');
      this.items = Array.isArray(stored) ? (stored as RecentItem[]).slice(0, RECENT_MAX) : [];
    } catch {
      this.items = [];
    }
    const pending = this.#pending;
    this.#pending = [];
    for (const item of pending.reverse()) this.add(item);
  }

  add(item: RecentItem): void {
    if (!this.#userId) return void this.#pending.unshift(item);
    const before = this.items.find((i) => i.type === item.type && i.id === item.id);
    const merged = {
      ...item,
      title: item.title ?? before?.title ?? null,
      subtitle: item.subtitle ?? before?.subtitle ?? null,
    };
    this.#save([merged, ...this.items.filter((i) => i !== before)].slice(0, RECENT_MAX));
  }

  /** Names the records kept without a title; drops the ones that are gone (deleted, or no longer visible). */
  async resolve(): Promise<void> {
    const unnamed = this.items.filter((i) => i.title === null);
    if (!unnamed.length) return;
    const named = await Promise.all(
      unnamed.map(async (item) => {
        try {
          if (item.type === 'company') {
            const c = await companies.get(item.id);
            return { ...item, title: c.name, subtitle: c.industry ?? null };
          }
          if (item.type === 'contact') {
            const c = await contacts.get(item.id);
            return { ...item, title: fullName(c), subtitle: c.email ?? null, companyId: c.companyId ?? null };
          }
        } catch {
          // Gone or not ours any more: forgotten below.
        }
        return null;
      }),
    );
    const byId = new Map(unnamed.map((item, i) => [item, named[i]]));
    this.#save(
      this.items.flatMap((i) => {
        if (!byId.has(i)) return [i];
        const n = byId.get(i);
        return n ? [n] : [];
      }),
    );
  }

  #save(items: RecentItem[]): void {
    this.items = items;
    try {
      localStorage.setItem(this.#key(), JSON.stringify(items));
    } catch {
      // Storage full or blocked (private mode): the list lives for this tab only.
    }
  }
}

export const recent = new RecentItems();

/** The Ctrl/Cmd-K palette: the query, its hits (latest request wins) and the highlighted one. */
class SearchPalette {
  open = $state(false);
  query = $state('');
  hits = $state<SearchHit[]>([]);
  active = $state(0);
  loading = $state(false);
  error = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort: AbortController | null = null;

  show(): void {
    this.open = true;
    this.active = 0;
    void recent.resolve();
  }

  hide(): void {
    this.open = false;
    this.query = '';
    this.hits = [];
    this.active = 0;
    this.error = null;
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  setQuery(q: string): void {
    this.query = q;
    this.active = 0;
    clearTimeout(this.#timer);
    this.#abort?.abort();
    if (!q.trim()) {
      this.hits = [];
      this.loading = false;
      return;
    }
    this.loading = true;
    this.#timer = setTimeout(() => void this.#run(q), DEBOUNCE_MS);
  }

  /** Moves the highlight among `count` choices (the hits, or the recent items and actions of the empty palette). */
  move(delta: number, count = this.hits.length): void {
    if (!count) return;
    this.active = (this.active + delta + count) % count;
  }

  async #run(q: string): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    try {
      const hits = await searchApi(q, abort.signal);
      if (abort.signal.aborted) return;
      this.hits = hits;
      this.active = 0;
      this.error = null;
    } catch (err) {
      if (abort.signal.aborted) return;
      this.error = (err as Error).message;
      this.hits = [];
    } finally {
      if (!abort.signal.aborted) this.loading = false;
    }
  }
}

export const palette = new SearchPalette();
