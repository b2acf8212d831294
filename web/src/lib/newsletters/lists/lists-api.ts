/** Typed calls to the lists endpoints (`/api/newsletters/lists`). */
import { request } from '#lib/api.ts';
import type { Page } from '#contracts/common';
import type { CustomFieldDef, SavedView } from '#contracts/crm';
import type {
  AddMembersInput,
  AddMembersResult,
  ListMember,
  MailingListDto,
  SegmentFilter,
  SegmentPreview,
  SubscriberImport,
} from '#contracts/newsletter-lists';

const base = '/api/newsletters/lists';
const enc = encodeURIComponent;

export const listsApi = {
  all: () => request<{ items: MailingListDto[] }>(base).then((r) => r.items),
  get: (id: string) => request<MailingListDto>(`${base}/${enc(id)}`),
  create: (body: Record<string, unknown>) => request<MailingListDto>(base, { method: 'POST', body }),
  update: (id: string, body: Record<string, unknown>) =>
    request<MailingListDto>(`${base}/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`${base}/${enc(id)}`, { method: 'DELETE' }),
  preview: (filter: SegmentFilter, signal?: AbortSignal) =>
    request<SegmentPreview>(`${base}/preview`, { method: 'POST', body: { filter }, signal }),
  members: (id: string, query: { status?: string; q?: string; cursor?: string }) => {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => !!e[1]));
    return request<Page<ListMember>>(`${base}/${enc(id)}/members?${params}`);
  },
  add: (id: string, body: AddMembersInput) =>
    request<AddMembersResult>(`${base}/${enc(id)}/members`, { method: 'POST', body }),
  removeMember: (id: string, contactId: string) =>
    request<void>(`${base}/${enc(id)}/members/${enc(contactId)}`, { method: 'DELETE' }),
  importStatus: (id: string, importId: string) =>
    request<SubscriberImport>(`${base}/${enc(id)}/imports/${enc(importId)}`),
  importUrl: (id: string) => `${base}/${enc(id)}/import`,
  customFields: () => request<{ items: CustomFieldDef[] }>('/api/crm/custom-fields').then((r) => r.items),
  contactViews: () => request<{ items: SavedView[] }>('/api/crm/views?entityType=contact').then((r) => r.items),
  companyViews: () => request<{ items: SavedView[] }>('/api/crm/views?entityType=company').then((r) => r.items),
  searchContacts: (q: string) =>
    request<{ items: { id: string; firstName: string; lastName: string; email?: string | null }[] }>(
      `/api/crm/contacts?limit=20&q=${enc(q)}`,
    ).then((r) => r.items),
  teamMembers: () => request<{ items: { userId: string; name: string }[] }>('/api/team/members').then((r) => r.items),
};
