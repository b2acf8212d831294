import { ApiError, request } from '#lib/api.ts';
import type { PipelineStage, PipelineStagesInput, StageKind } from '#contracts/pipeline';
import { STAGE_KEY_RE } from '#contracts/crm';
import { nameOf, pipelineApi, pipelineStages } from './pipeline-stages.svelte.ts';

/** A row of the editor; `id` is the row's own (svelte-dnd-action needs one), `key` is null until first saved. */
export interface StageRow {
  id: string;
  key: string | null;
  name: string;
  probability: number;
  kind: StageKind;
}

let seq = 0;
const rowOf = (s: PipelineStage): StageRow => ({
  id: `row-${++seq}`,
  key: s.key,
  name: nameOf(s),
  probability: s.probability,
  kind: s.kind,
});

/** A key from a name: ASCII, lower case, dashes; made unique among `taken`. */
export function keyFor(name: string, taken: readonly string[]): string {
  const base =
    name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 32) || 'stage';
  let key = base;
  for (let n = 2; taken.includes(key) || !STAGE_KEY_RE.test(key); n++) key = `${base}-${n}`;
  return key;
}

/**
 * The Settings > Pipeline editor: the ordered stages as rows, saved as a whole with the version they were read at.
 * Deleting a stage that holds deals asks where its deals go (`removedWithDeals`, then `save(moves)`).
 */
export class StageEditor {
  rows = $state<StageRow[]>([]);
  counts = $state<Record<string, number>>({});
  version = $state(1);
  loading = $state(true);
  saving = $state(false);
  error = $state<string | null>(null);
  fields = $state<Record<string, string>>({});
  /** The last save found the stages changed by someone else (the editor now shows them as they are). */
  conflicted = $state(false);
  #saved = '';

  readonly dirty = $derived(JSON.stringify(this.#payloadRows()) !== this.#saved);

  async load(): Promise<void> {
    try {
      const [list, summary] = await Promise.all([
        pipelineApi.get(),
        request<{ stages: { stage: string; count: number }[] }>('/api/crm/pipeline'),
      ]);
      pipelineStages.set(list);
      this.rows = list.items.map(rowOf);
      this.version = list.version;
      this.counts = Object.fromEntries(summary.stages.map((s) => [s.stage, s.count]));
      this.#saved = JSON.stringify(this.#payloadRows());
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    } finally {
      this.loading = false;
    }
  }

  add(name: string): void {
    const won = this.rows.findIndex((r) => r.kind !== 'open');
    const row: StageRow = { id: `row-${++seq}`, key: null, name, probability: 50, kind: 'open' };
    // a new open stage goes before the closing ones
    if (won === -1) this.rows.push(row);
    else this.rows.splice(won, 0, row);
  }

  move(index: number, by: -1 | 1): void {
    const to = index + by;
    if (to < 0 || to >= this.rows.length) return;
    const rows = [...this.rows];
    [rows[index], rows[to]] = [rows[to]!, rows[index]!];
    this.rows = rows;
  }

  remove(index: number): void {
    this.rows = this.rows.filter((_, i) => i !== index);
  }

  /** Saved stages left out of the list that still have deals. */
  get removedWithDeals(): { key: string; name: string; count: number }[] {
    const kept = this.rows.map((r) => r.key);
    return pipelineStages.items
      .filter((s) => !kept.includes(s.key) && (this.counts[s.key] ?? 0) > 0)
      .map((s) => ({ key: s.key, name: nameOf(s), count: this.counts[s.key]! }));
  }

  /** The rows as the API takes them (new rows get a key from their name). */
  #payloadRows(): PipelineStagesInput['stages'] {
    const taken = [
      ...this.rows.map((r) => r.key).filter((k): k is string => !!k),
      ...pipelineStages.items.map((s) => s.key),
    ];
    return this.rows.map((r) => {
      let key = r.key;
      if (!key) taken.push((key = keyFor(r.name, taken)));
      // an unrenamed default keeps its stored name, so that it keeps reading in each language
      const stored = pipelineStages.byKey.get(key);
      const name = stored && nameOf(stored) === r.name.trim() ? stored.name : r.name.trim();
      return { key, name, probability: Math.round(Number(r.probability)), kind: r.kind };
    });
  }

  async save(moves: Record<string, string> = {}): Promise<boolean> {
    if (this.saving) return false;
    this.saving = true;
    this.error = null;
    this.fields = {};
    this.conflicted = false;
    try {
      const saved = await pipelineApi.save({ version: this.version, stages: this.#payloadRows(), moves });
      pipelineStages.set(saved);
      await this.load();
      return true;
    } catch (err) {
      this.error = (err as Error).message;
      if (err instanceof ApiError && err.code === 'version_conflict') {
        this.conflicted = true;
        await this.load();
      }
      this.fields = err instanceof ApiError ? (err.fields ?? {}) : {};
      return false;
    } finally {
      this.saving = false;
    }
  }
}
