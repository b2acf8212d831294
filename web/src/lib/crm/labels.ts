/** Chip colours for the CRM's enumerations. */
import type { ChipTone } from '#lib/components/ui/Chip.svelte';
import type { CompanySort, CompanyStatus, CompanyType, DealStage } from '#contracts/crm';
import { pipelineStages } from './pipeline-stages.svelte.ts';

export const companyTypeTone: Record<CompanyType, ChipTone> = {
  client: 'indigo',
  supplier: 'sky',
  stakeholder: 'violet',
};

export const companyStatusTone: Record<CompanyStatus, ChipTone> = {
  active: 'emerald',
  inactive: 'slate',
  prospect: 'amber',
};

/** A deal still in play: its stage is of the `open` kind in the workspace's pipeline. */
export const isOpenStage = (stage: DealStage): boolean => pipelineStages.kindOf(stage) === 'open';

/** The orders the company list offers, of those the API takes. */
export const COMPANY_SORT_CHOICES = [
  'name',
  '-name',
  '-createdAt',
  'createdAt',
  '-updatedAt',
] as const satisfies readonly CompanySort[];
