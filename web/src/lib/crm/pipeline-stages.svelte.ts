import { request } from '#lib/api.ts';
import type { ChipTone } from '#lib/components/ui/Chip.svelte';
import { DEAL_STAGES } from '#contracts/crm';
import {
  DEFAULT_PIPELINE_STAGES,
  type PipelineStage,
  type PipelineStages,
  type PipelineStagesInput,
} from '#contracts/pipeline';
import { t } from '#lib/i18n/index.svelte.ts';
import { session } from '#lib/session.svelte.ts';

export const pipelineApi = {
  get: () => request<PipelineStages>('/api/crm/pipeline/stages'),
  save: (body: PipelineStagesInput) => request<PipelineStages>('/api/crm/pipeline/stages', { method: 'PUT', body }),
};

const OPEN_TONES: ChipTone[] = ['slate', 'sky', 'indigo', 'amber', 'violet'];
const isDefaultKey = (key: string): key is (typeof DEAL_STAGES)[number] =>
  (DEAL_STAGES as readonly string[]).includes(key);

/**
 * The workspace's deal stages, loaded once per workspace and shared by the board, forms, tables and timelines.
 * A default stage never renamed reads in the interface language; a renamed or added one as the team wrote it.
 */
class Stages {
  items = $state<PipelineStage[]>([]);
  version = $state(1);
  #loadedFor: string | null = null;
  #pending: Promise<PipelineStage[]> | null = null;

  readonly byKey = $derived(new Map(this.items.map((s) => [s.key, s])));

  async ensure(force = false): Promise<PipelineStage[]> {
    const workspace = session.workspace?.id ?? null;
    if (!force && workspace === this.#loadedFor && this.items.length) return this.items;
    this.#pending ??= pipelineApi
      .get()
      .then((list) => {
        this.set(list);
        this.#loadedFor = workspace;
        return list.items;
      })
      .finally(() => (this.#pending = null));
    return this.#pending;
  }

  set(list: PipelineStages): void {
    this.items = list.items;
    this.version = list.version;
  }

  /** What a stage is called; a key not (yet) loaded reads as its default label, or as itself. */
  label(key: string): string {
    const stage = this.byKey.get(key);
    if (!stage) {
      if (!this.#loadedFor) void this.ensure().catch(() => {});
      return isDefaultKey(key) ? t().deal.stages[key] : key;
    }
    return nameOf(stage);
  }

  kindOf(key: string): PipelineStage['kind'] {
    return this.byKey.get(key)?.kind ?? (key === 'won' ? 'won' : key === 'lost' ? 'lost' : 'open');
  }

  probabilityOf(key: string): number | null {
    return this.byKey.get(key)?.probability ?? null;
  }

  tone(key: string): ChipTone {
    const kind = this.kindOf(key);
    if (kind === 'won') return 'emerald';
    if (kind === 'lost') return 'red';
    const open = this.items.filter((s) => s.kind === 'open');
    const index = Math.max(
      0,
      open.findIndex((s) => s.key === key),
    );
    return OPEN_TONES[index % OPEN_TONES.length]!;
  }

  reset(): void {
    this.items = [];
    this.#loadedFor = null;
  }
}

/** A stage's display name: the translated default while it keeps its default name. */
export function nameOf(stage: Pick<PipelineStage, 'key' | 'name'>): string {
  const fallback = DEFAULT_PIPELINE_STAGES.find((d) => d.key === stage.key);
  return fallback && fallback.name === stage.name && isDefaultKey(stage.key) ? t().deal.stages[stage.key] : stage.name;
}

export const pipelineStages = new Stages();
