import { search as searchApi } from './crm/api.ts';
import type { SearchHit } from '#contracts/crm';

const DEBOUNCE_MS = 150;

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

  move(delta: number): void {
    if (!this.hits.length) return;
    this.active = (this.active + delta + this.hits.length) % this.hits.length;
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
