import { request } from '#lib/api.ts';
import type { SavedView } from '#contracts/crm';

/** The saved views of one list: one's own and the team's shared ones. */
export class SavedViews {
  items = $state.raw<SavedView[]>([]);
  error = $state<string | null>(null);
  readonly #entityType: SavedView['entityType'];

  constructor(entityType: SavedView['entityType']) {
    this.#entityType = entityType;
  }

  async load() {
    try {
      this.items = (await request<{ items: SavedView[] }>(`/api/crm/views?entityType=${this.#entityType}`)).items;
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    }
  }

  async save(name: string, filters: Record<string, string>, isShared: boolean) {
    const kept = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== ''));
    const view = await request<SavedView>('/api/crm/views', {
      body: { entityType: this.#entityType, name, filters: kept, isShared },
    });
    this.items = [...this.items, view].sort((a, b) => a.name.localeCompare(b.name));
    return view;
  }

  async remove(id: string) {
    await request(`/api/crm/views/${encodeURIComponent(id)}`, { method: 'DELETE' });
    this.items = this.items.filter((v) => v.id !== id);
  }
}
