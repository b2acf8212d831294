/** Typed calls to the CRM, team, search and notification endpoints. */
import { request } from '#lib/api.ts';
import type { Page, RecordType } from '#contracts/common';
import type {
  Company,
  Contact,
  CrmDocument,
  CustomFieldDef,
  Deal,
  FullContext,
  Note,
  NoteType,
  SearchHit,
} from '#contracts/crm';
import type { ApiToken, ApiTokenInput, ApiTokenPatch, Invitation, Member } from '#contracts/team';
import type { Activity, Notification as AppNotification } from '#contracts/timeline';

type Params = Record<string, string | number | boolean | null | undefined>;

/** `?a=1&b=2` from the parameters that have a value; '' when none has. */
export function query(params: Params): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

/** List, read, create, update and delete for one kind of record. */
function records<T>(path: string) {
  return {
    list: (params: Params = {}, signal?: AbortSignal) => request<Page<T>>(`${path}${query(params)}`, { signal }),
    get: (id: string) => request<T>(`${path}/${enc(id)}`),
    create: (body: Record<string, unknown>) => request<T>(path, { method: 'POST', body }),
    update: (id: string, body: Record<string, unknown>) => request<T>(`${path}/${enc(id)}`, { method: 'PATCH', body }),
    remove: (id: string) => request<void>(`${path}/${enc(id)}`, { method: 'DELETE' }),
  };
}

export const companies = {
  ...records<Company>('/api/crm/companies'),
  fullContext: (id: string) => request<FullContext>(`/api/crm/companies/${enc(id)}/full-context`),
};
export const contacts = records<Contact>('/api/crm/contacts');

/** The CSV export of a list with the list's filters (empty ones left out), for a download link. */
export const exportCsvUrl = (list: 'companies' | 'contacts', params: Params) =>
  `/api/crm/${list}/export.csv${query(params)}`;
export const deals = records<Deal>('/api/crm/deals');

/** Every page of a list, up to `max` items (for pickers and the deal board). */
export async function listAll<T>(
  list: (params: Params) => Promise<Page<T>>,
  params: Params = {},
  max = 1000,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await list({ ...params, limit: 200, cursor });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  return items;
}

export interface NoteInput {
  entityType: RecordType;
  entityId: string;
  content: string;
  noteType: NoteType;
  isPinned: boolean;
  mentions: string[];
}

export const notes = {
  list: (entityType: RecordType, entityId: string) =>
    request<{ items: Note[] }>(`/api/crm/notes${query({ entityType, entityId })}`).then((r) => r.items),
  create: (body: NoteInput) => request<Note>('/api/crm/notes', { method: 'POST', body }),
  /** With the `version` the edit was made on: a stale one answers 409 `version_conflict`. */
  update: (id: string, body: Partial<Omit<NoteInput, 'entityType' | 'entityId'>> & { version?: number }) =>
    request<Note>(`/api/crm/notes/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`/api/crm/notes/${enc(id)}`, { method: 'DELETE' }),
};

export const timeline = (params: {
  entityType?: RecordType;
  entityId?: string;
  before?: number;
  after?: number;
  limit?: number;
}) => request<{ items: Activity[] }>(`/api/crm/timeline${query(params)}`).then((r) => r.items);

export const customFields = {
  list: (entityType?: RecordType) =>
    request<{ items: CustomFieldDef[] }>(`/api/crm/custom-fields${query({ entityType })}`).then((r) => r.items),
  create: (body: Omit<CustomFieldDef, 'id' | 'tenantId' | 'createdAt'>) =>
    request<CustomFieldDef>('/api/crm/custom-fields', { method: 'POST', body }),
  update: (id: string, body: Partial<Omit<CustomFieldDef, 'id' | 'entityType' | 'fieldName'>>) =>
    request<CustomFieldDef>(`/api/crm/custom-fields/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`/api/crm/custom-fields/${enc(id)}`, { method: 'DELETE' }),
};

export const documents = {
  list: (entityType: RecordType, entityId: string) =>
    request<{ items: CrmDocument[] }>(`/api/crm/documents${query({ entityType, entityId })}`).then((r) => r.items),
  downloadUrl: (id: string) => `/api/crm/documents/${enc(id)}/download`,
  remove: (id: string) => request<void>(`/api/crm/documents/${enc(id)}`, { method: 'DELETE' }),
};

export const search = (q: string, signal?: AbortSignal) =>
  request<{ items: SearchHit[] }>(`/api/search${query({ q })}`, { signal }).then((r) => r.items);

export const team = {
  members: () => request<{ items: Member[] }>('/api/team/members').then((r) => r.items),
  changeRole: (userId: string, role: Member['role']) =>
    request<Member>(`/api/team/members/${enc(userId)}`, { method: 'PATCH', body: { role } }),
  remove: (userId: string) => request<void>(`/api/team/members/${enc(userId)}`, { method: 'DELETE' }),
  invite: (email: string, role: Member['role']) =>
    request<Invitation>('/api/team/invitations', { method: 'POST', body: { email, role } }),
};

export const tokens = {
  list: () => request<{ items: ApiToken[] }>('/api/tokens').then((r) => r.items),
  create: (body: ApiTokenInput) => request<ApiToken & { token: string }>('/api/tokens', { method: 'POST', body }),
  update: (id: string, body: ApiTokenPatch) => request<ApiToken>(`/api/tokens/${enc(id)}`, { method: 'PATCH', body }),
  revoke: (id: string) => request<void>(`/api/tokens/${enc(id)}`, { method: 'DELETE' }),
};

export const notifications = {
  list: (unread = false) =>
    request<{ items: AppNotification[]; unread: number }>(`/api/notifications${query({ unread })}`),
  read: (body: { ids: string[] } | { all: true }) =>
    request<{ updated: number; unread: number }>('/api/notifications/read', { method: 'POST', body }),
};
