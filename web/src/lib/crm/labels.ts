/** Chip colours for the CRM's enumerations. */
import type { ChipTone } from '#lib/components/ui/Chip.svelte';
import type { CompanyStatus, CompanyType, DealStage } from './types.ts';

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

export const stageTone: Record<DealStage, ChipTone> = {
  lead: 'slate',
  qualified: 'sky',
  proposal: 'indigo',
  negotiation: 'amber',
  won: 'emerald',
  lost: 'red',
};

export const OPEN_STAGES: readonly DealStage[] = ['lead', 'qualified', 'proposal', 'negotiation'];
