import { ApiError } from '#lib/api.ts';
import { listen } from '#lib/realtime.ts';
import { deals as dealsApi, listAll } from './api.ts';
import { type Deal, DEAL_STAGES, type DealStage } from '#contracts/crm';
import { conflictOf } from './versioned-edit.svelte.ts';

type Columns = Record<DealStage, Deal[]>;

const empty = (): Columns => ({ lead: [], qualified: [], proposal: [], negotiation: [], won: [], lost: [] });

function group(deals: Deal[]): Columns {
  const columns = empty();
  for (const deal of deals) columns[deal.stage].push(deal);
  return columns;
}

/**
 * The pipeline: deals in one column per stage. Dropping a deal in another column PATCHes its stage (with the
 * version the board shows); if the server refuses, the board goes back to how it was before the drag, and reloads
 * when the deal had changed meanwhile.
 */
export class DealBoard {
  columns = $state<Columns>(empty());
  companyId = $state('');
  loading = $state(true);
  error = $state<string | null>(null);
  /** Deals being saved after a move. */
  saving = $state<string[]>([]);

  #before: Columns | null = null;
  #dragging = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  async load(): Promise<void> {
    try {
      const deals = await listAll(dealsApi.list, { companyId: this.companyId || undefined, sort: '-createdAt' });
      if (!this.#dragging) this.columns = group(deals);
      this.error = null;
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  setCompany(companyId: string): void {
    this.companyId = companyId;
    this.loading = true;
    void this.load();
  }

  /** svelte-dnd-action's `consider`: the column's items while a drag hovers it. */
  consider(stage: DealStage, items: Deal[]): void {
    if (!this.#dragging) {
      this.#dragging = true;
      this.#before = $state.snapshot(this.columns) as Columns;
    }
    this.columns[stage] = items;
  }

  /**
   * svelte-dnd-action's `finalize`, called for the column the deal left and the one it landed in. A deal whose
   * stage differs from its new column has moved.
   */
  async finalize(stage: DealStage, items: Deal[], onError: (deal: Deal, err: unknown) => void): Promise<void> {
    this.columns[stage] = items;
    this.#dragging = false;
    const before = this.#before;
    const moved = items.filter((d) => d.stage !== stage);
    if (!moved.length) return;
    this.#before = null;
    for (const deal of moved) {
      this.columns[stage] = this.columns[stage].map((d) => (d.id === deal.id ? { ...d, stage } : d));
      this.saving = [...this.saving, deal.id];
      try {
        const saved = await dealsApi.update(deal.id, { stage, version: deal.version });
        this.#replace(saved);
      } catch (err) {
        if (before) this.columns = before;
        if (conflictOf(err)) void this.load();
        onError(deal, err);
      } finally {
        this.saving = this.saving.filter((id) => id !== deal.id);
      }
    }
  }

  #replace(deal: Deal): void {
    for (const stage of DEAL_STAGES) {
      const index = this.columns[stage].findIndex((d) => d.id === deal.id);
      if (index === -1) continue;
      if (stage === deal.stage) this.columns[stage][index] = deal;
      else {
        this.columns[stage] = this.columns[stage].filter((d) => d.id !== deal.id);
        this.columns[deal.stage] = [deal, ...this.columns[deal.stage]];
      }
      return;
    }
  }

  /** Teammates' changes to deals reload the board (not during a drag). */
  start(): () => void {
    const off = listen('activity:new', (activity) => {
      if (!activity.type.startsWith('deal.')) return;
      if (this.companyId && activity.companyId !== this.companyId) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.load(), 300);
    });
    return () => {
      clearTimeout(this.#timer);
      off();
    };
  }
}
