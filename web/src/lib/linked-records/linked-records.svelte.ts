import { ApiError } from '#lib/api.ts';
import type { RecordWatch } from '#lib/watch.svelte.ts';
import type { LinkedRecord, LinkedTab } from '#contracts/linked-records';
import { linkedApi } from './api.ts';

const REFRESH_DEBOUNCE_MS = 200;

/**
 * A company's linked records (its contacts' and deals' too), grouped by card tab, kept current through the
 * company's watch: every `linked_record.*` activity (live, or missed while offline) reloads the list.
 */
export class CompanyLinkedRecords {
  readonly companyId: string;
  items = $state.raw<LinkedRecord[]>([]);
  loading = $state(true);
  error = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(companyId: string) {
    this.companyId = companyId;
  }

  of(tab: LinkedTab): LinkedRecord[] {
    return this.items.filter((r) => r.tab === tab);
  }

  async load(): Promise<void> {
    try {
      this.items = (await linkedApi.list({ companyId: this.companyId, limit: 200 })).items;
      this.error = null;
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  start(watch: RecordWatch): () => void {
    const off = watch.onActivity((activity) => {
      if (!activity.type.startsWith('linked_record.')) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.load(), REFRESH_DEBOUNCE_MS);
    });
    return () => {
      clearTimeout(this.#timer);
      off();
    };
  }
}
