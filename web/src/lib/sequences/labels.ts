/** Shared wording and colours of the sequence screens: status tones, refusals said humanly, step names. */
import type { ChipTone } from '#lib/components/ui/Chip.svelte';
import { ApiError } from '#lib/api.ts';
import { t } from '#lib/i18n/index.svelte.ts';
import type { StepConfig } from '#contracts/sequences';

export const statusTone: Record<string, ChipTone> = {
  draft: 'slate',
  active: 'emerald',
  paused: 'amber',
  archived: 'slate',
  completed: 'sky',
  stopped: 'red',
  failed: 'red',
};

/** The server's refusal in words a user reads: a known code's sentence, else the server's own message. */
export function refusal(err: unknown): string {
  if (err instanceof ApiError) return t().sequences.refusals[err.code] ?? err.message;
  return err instanceof Error ? err.message : t().common.unexpected;
}

export const isConflict = (err: unknown): boolean =>
  err instanceof ApiError && (err.code === 'version_conflict' || (err.status === 409 && err.code === 'conflict'));

/** "Step 2 · Email". */
export function stepName(position: number, config: Pick<StepConfig, 'kind'>): string {
  const m = t().sequences.editor;
  return `${m.step(position)} · ${m.kinds[config.kind] ?? config.kind}`;
}

export const percent = (n: number, of: number): string => (of > 0 ? `${Math.round((n / of) * 1000) / 10} %` : '—');

/** A rate already a fraction (0.012 -> "1.2 %"). */
export const rate = (fraction: number): string => `${Math.round(fraction * 1000) / 10} %`;
