import { ApiError } from '#lib/api.ts';
import type { Page } from '#contracts/common';

type Fetch<T> = (params: Record<string, string | number | undefined>, signal: AbortSignal) => Promise<Page<T>>;

/** A cursor-paged list: `load()` starts over (the latest call wins), `loadMore()` appends the next page. */
export class PagedList<T> {
  items = $state<T[]>([]);
  nextCursor = $state<string | null>(null);
  loading = $state(false);
  loadingMore = $state(false);
  error = $state<string | null>(null);
  /** Set once the first page has arrived. */
  loaded = $state(false);

  readonly #fetch: Fetch<T>;
  #abort: AbortController | null = null;
  #params: Record<string, string | number | undefined> = {};

  constructor(fetch: Fetch<T>) {
    this.#fetch = fetch;
  }

  async load(params: Record<string, string | number | undefined> = this.#params): Promise<void> {
    this.#abort?.abort();
    const abort = new AbortController();
    this.#abort = abort;
    this.#params = params;
    this.loading = true;
    try {
      const page = await this.#fetch(params, abort.signal);
      if (abort.signal.aborted) return;
      this.items = page.items;
      this.nextCursor = page.nextCursor;
      this.error = null;
      this.loaded = true;
    } catch (err) {
      if (abort.signal.aborted) return;
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      if (!abort.signal.aborted) this.loading = false;
    }
  }

  async loadMore(): Promise<void> {
    if (!this.nextCursor || this.loadingMore) return;
    const abort = this.#abort ?? new AbortController();
    this.loadingMore = true;
    try {
      const page = await this.#fetch({ ...this.#params, cursor: this.nextCursor }, abort.signal);
      if (abort.signal.aborted) return;
      this.items = [...this.items, ...page.items];
      this.nextCursor = page.nextCursor;
    } catch (err) {
      if (!abort.signal.aborted) this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loadingMore = false;
    }
  }
}
