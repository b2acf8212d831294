/** Typed calls to bulk messages (`/api/messaging/bulks`) and what their form picks from. */
import { request } from '#lib/api.ts';
import type { BulkMessage, BulkMessageInput } from '#contracts/message-bulks';

const enc = encodeURIComponent;

export interface AccountChoice {
  id: string;
  name: string;
  channels: string[];
}
export interface ListChoice {
  id: string;
  name: string;
  kind: string;
}
export interface TemplateChoice {
  id: string;
  name: string;
  channel: string;
  body: string;
  status: string;
}

export const bulkApi = {
  list: () => request<{ items: BulkMessage[] }>('/api/messaging/bulks'),
  get: (id: string) => request<BulkMessage>(`/api/messaging/bulks/${enc(id)}`),
  create: (body: BulkMessageInput) => request<BulkMessage>('/api/messaging/bulks', { method: 'POST', body }),
  start: (id: string) =>
    request<BulkMessage & { unreachable: number }>(`/api/messaging/bulks/${enc(id)}/start`, { method: 'POST' }),
  cancel: (id: string) => request<BulkMessage>(`/api/messaging/bulks/${enc(id)}/cancel`, { method: 'POST' }),
  accounts: () => request<{ items: AccountChoice[] }>('/api/messaging/accounts'),
  lists: () => request<{ items: ListChoice[] }>('/api/newsletters/lists'),
  templates: (channel: string) =>
    request<{ items: TemplateChoice[] }>(`/api/messaging/templates?channel=${enc(channel)}`),
};
