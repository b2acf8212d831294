/** Typed calls to the newsletter report endpoints, and how their rates read. */
import { request } from '#lib/api.ts';
import { locale } from '#lib/i18n/index.svelte.ts';
import type { CampaignReport, CampaignsOverview, ListGrowth } from '#contracts/campaign-report';

const enc = encodeURIComponent;

export const reports = {
  campaign: (id: string) => request<CampaignReport>(`/api/newsletters/campaigns/${enc(id)}/report`),
  growth: (listId: string, days = 90) =>
    request<ListGrowth>(`/api/newsletters/lists/${enc(listId)}/growth?days=${days}`),
  overview: (limit = 12) => request<CampaignsOverview>(`/api/newsletters/overview?limit=${limit}`),
};

/** A share (0..1) as a percentage in the interface language, e.g. "42.5%". */
export function percent(share: number): string {
  return new Intl.NumberFormat(locale.tag, { style: 'percent', maximumFractionDigits: 1 }).format(share);
}

/** A count in the interface language. */
export function count(n: number): string {
  return new Intl.NumberFormat(locale.tag).format(n);
}
