/** Chip colours for the CRM's enumerations. */
import type { ChipTone } from '#lib/components/ui/Chip.svelte';
import type { CompanySort, CompanyStatus, CompanyType, DealStage } from '#contracts/crm';

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

/** The orders the company list offers, of those the API takes. */
export const COMPANY_SORT_CHOICES = [
  'name',
  '-name',
  '-createdAt',
  'createdAt',
  '-updatedAt',
] as const satisfies readonly CompanySort[];
