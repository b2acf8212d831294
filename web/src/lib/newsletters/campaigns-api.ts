/** Typed calls to the campaign endpoints (`/api/newsletters`), and the lists and mailboxes a campaign picks from. */
import { request } from '#lib/api.ts';
import { query } from '#lib/crm/api.ts';
import type {
  Campaign,
  CampaignCommand,
  CampaignInput,
  CampaignPatch,
  CampaignPreview,
  CampaignSummary,
  NewsletterTemplate,
  PreviewInput,
  TestSendInput,
} from '#contracts/campaigns';
import type { MailingListDto } from '#contracts/newsletter-lists';

const enc = encodeURIComponent;
const base = '/api/newsletters';

/** What the campaign screens need of a list: its name, kind and subscribed count. */
export type ListChoice = Pick<MailingListDto, 'id' | 'name' | 'kind' | 'counts' | 'archivedAt'>;

export const campaigns = {
  list: (params: { status?: string; q?: string; cursor?: string } = {}) =>
    request<{ items: CampaignSummary[]; nextCursor: string | null }>(`${base}/campaigns${query(params)}`),
  get: (id: string) => request<Campaign>(`${base}/campaigns/${enc(id)}`),
  create: (body: CampaignInput) => request<Campaign>(`${base}/campaigns`, { method: 'POST', body }),
  update: (id: string, body: CampaignPatch) =>
    request<Campaign>(`${base}/campaigns/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`${base}/campaigns/${enc(id)}`, { method: 'DELETE' }),
  duplicate: (id: string) => request<Campaign>(`${base}/campaigns/${enc(id)}/duplicate`, { method: 'POST', body: {} }),
  preview: (id: string, body: PreviewInput) =>
    request<CampaignPreview>(`${base}/campaigns/${enc(id)}/preview`, { method: 'POST', body }),
  test: (id: string, body: TestSendInput) =>
    request<{ sent: number; transport: string }>(`${base}/campaigns/${enc(id)}/test`, { method: 'POST', body }),
  command: (id: string, command: CampaignCommand, body: Record<string, unknown> = {}) =>
    request<Campaign>(`${base}/campaigns/${enc(id)}/${command}`, { method: 'POST', body }),
  templates: () => request<{ items: NewsletterTemplate[] }>(`${base}/templates`).then((r) => r.items),
  /** The lists a campaign may go to (archived ones left out). */
  lists: () => request<{ items: ListChoice[] }>(`${base}/lists`).then((r) => r.items.filter((l) => !l.archivedAt)),
};
