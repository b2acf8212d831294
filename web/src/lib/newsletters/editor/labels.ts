/** How campaign statuses look. */
import type { ChipTone } from '#lib/components/ui/Chip.svelte';

export const statusTone: Record<string, ChipTone> = {
  draft: 'slate',
  scheduled: 'sky',
  sending: 'indigo',
  paused: 'amber',
  cancelled: 'red',
  sent: 'emerald',
};
