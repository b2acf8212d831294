import { ApiError } from '#lib/api.ts';
import { listen } from '#lib/realtime.ts';
import { deals as dealsApi, listAll } from './api.ts';
import type { Deal } from '#contracts/crm';
import { pipelineStages } from './pipeline-stages.svelte.ts';
import { conflictOf } from './versioned-edit.svelte.ts';

type Columns = Record<string, Deal[]>;

function group(deals: Deal[], keys: string[]): Columns {
  const columns: Columns = Object.fromEntries(keys.map((k) => [k, []]));
  for (const deal of deals) columns[deal.stage]?.push(deal);
  return columns;
}

/** A move waiting for the user to confirm the probability the new stage offers. */
export interface PendingMove {
  deal: Deal;
  stage: string;
  /** The stage's probability, offered for the deal (null when the stage has none to offer). */
  offered: number | null;
}

/**
 * The pipeline: deals in one column per stage of the workspace. Dropping a deal in another column (or choosing a
 * stage from its menu) asks whether to take that stage's probability, then PATCHes stage and probability with the
 * version the board shows; if the server refuses or the user cancels, the board goes back to how it was.
 */
export class DealBoard {
  columns = $state<Columns>({});
  companyId = $state('');
  loading = $state(true);
  error = $state<string | null>(null);
  /** Deals being saved after a move. */
  saving = $state<string[]>([]);
  pending = $state<PendingMove | null>(null);

  #before: Columns | null = null;
  #dragging = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  readonly stages = $derived(pipelineStages.items);

  async load(): Promise<void> {
    try {
      const [stages, deals] = await Promise.all([
        pipelineStages.ensure(),
        listAll(dealsApi.list, { companyId: this.companyId || undefined, sort: '-createdAt' }),
      ]);
      if (!this.#dragging && !this.pending)
        this.columns = group(
          deals,
          stages.map((s) => s.key),
        );
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
  consider(stage: string, items: Deal[]): void {
    if (!this.#dragging) {
      this.#dragging = true;
      this.#before = $state.snapshot(this.columns) as Columns;
    }
    this.columns[stage] = items;
  }

  /**
   * svelte-dnd-action's `finalize`, called for the column the deal left and the one it landed in. A deal whose
   * stage differs from its new column has moved: the move waits for the probability question.
   */
  finalize(stage: string, items: Deal[]): void {
    this.columns[stage] = items;
    this.#dragging = false;
    const moved = items.find((d) => d.stage !== stage);
    if (!moved) return;
    this.pending = { deal: moved, stage, offered: pipelineStages.probabilityOf(stage) };
  }

  /** The card menu's "Move to": the same question as a drop. */
  moveTo(deal: Deal, stage: string): void {
    if (deal.stage === stage || this.pending) return;
    this.#before = $state.snapshot(this.columns) as Columns;
    this.columns[deal.stage] = (this.columns[deal.stage] ?? []).filter((d) => d.id !== deal.id);
    this.columns[stage] = [deal, ...(this.columns[stage] ?? [])];
    this.pending = { deal, stage, offered: pipelineStages.probabilityOf(stage) };
  }

  cancel(): void {
    if (!this.pending) return;
    if (this.#before) this.columns = this.#before;
    this.#before = null;
    this.pending = null;
  }

  /** Saves the pending move; `probability` null keeps the deal's own. */
  async confirm(probability: number | null, onError: (deal: Deal, err: unknown) => void): Promise<void> {
    const move = this.pending;
    if (!move) return;
    const before = this.#before;
    this.pending = null;
    this.#before = null;
    const { deal, stage } = move;
    this.columns[stage] = (this.columns[stage] ?? []).map((d) => (d.id === deal.id ? { ...d, stage } : d));
    this.saving = [...this.saving, deal.id];
    try {
      const body: Record<string, unknown> = { stage, version: deal.version };
      if (probability !== null) body.probability = probability;
      this.#replace(await dealsApi.update(deal.id, body));
    } catch (err) {
      if (before) this.columns = before;
      if (conflictOf(err)) void this.load();
      onError(deal, err);
    } finally {
      this.saving = this.saving.filter((id) => id !== deal.id);
    }
  }

  #replace(deal: Deal): void {
    for (const [stage, items] of Object.entries(this.columns)) {
      const index = items.findIndex((d) => d.id === deal.id);
      if (index === -1) continue;
      if (stage === deal.stage) this.columns[stage]![index] = deal;
      else {
        this.columns[stage] = items.filter((d) => d.id !== deal.id);
        this.columns[deal.stage] = [deal, ...(this.columns[deal.stage] ?? [])];
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
