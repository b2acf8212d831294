/** Typed calls to the inbox endpoints: mailboxes, conversations and the failed-messages queue. */
import { request } from '#lib/api.ts';
import { query } from '#lib/crm/api.ts';
import type { Page } from '#contracts/common';
import type { Note } from '#contracts/crm';
import type {
  ConversationDetail,
  ConversationListQuery,
  ConversationPatch,
  ConversationRead,
  ConversationStatus,
  ConversationSummary,
  FailedInbound,
  InboundRetry,
  InboxCounts,
  Mailbox,
  MailboxInput,
  MailboxPatch,
} from '#contracts/inbox';

const enc = encodeURIComponent;

export const mailboxes = {
  list: () => request<{ items: Mailbox[] }>('/api/inbox/mailboxes').then((r) => r.items),
  create: (body: MailboxInput) => request<Mailbox>('/api/inbox/mailboxes', { method: 'POST', body }),
  update: (id: string, body: MailboxPatch) =>
    request<Mailbox>(`/api/inbox/mailboxes/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`/api/inbox/mailboxes/${enc(id)}`, { method: 'DELETE' }),
};

/** The list's filters as the page holds them (no cursor is null on the first page). */
export type ConversationQuery = Omit<ConversationListQuery, 'cursor' | 'limit'> & {
  cursor?: string | null | undefined;
  limit?: number | undefined;
};

/** The list's query string: several mailboxes as one `mailboxId` each (the API takes the repeated parameter). */
function listQuery({ mailboxId, ...rest }: ConversationQuery): string {
  const ids = mailboxId === undefined ? [] : [mailboxId].flat();
  const search = new URLSearchParams(query(rest).slice(1));
  for (const id of ids) search.append('mailboxId', id);
  const s = search.toString();
  return s ? `?${s}` : '';
}

export const conversations = {
  list: (params: ConversationQuery = {}, signal?: AbortSignal) =>
    request<Page<ConversationSummary>>(`/api/inbox/conversations${listQuery(params)}`, { signal }),
  get: (id: string, signal?: AbortSignal) =>
    request<ConversationDetail>(`/api/inbox/conversations/${enc(id)}`, { signal }),
  update: (id: string, body: ConversationPatch) =>
    request<ConversationSummary>(`/api/inbox/conversations/${enc(id)}`, { method: 'PATCH', body }),
  read: (id: string) =>
    request<ConversationRead>(`/api/inbox/conversations/${enc(id)}/read`, { method: 'POST', body: {} }),
  counts: (status?: ConversationStatus, signal?: AbortSignal) =>
    request<InboxCounts>(`/api/inbox/counts${query({ status })}`, { signal }),
  notes: (id: string) => request<{ items: Note[] }>(`/api/inbox/conversations/${enc(id)}/notes`).then((r) => r.items),
  addNote: (id: string, body: { content: string; mentions: string[]; noteType?: string; isPinned?: boolean }) =>
    request<Note>(`/api/inbox/conversations/${enc(id)}/notes`, { method: 'POST', body }),
};

export const failedInbound = {
  list: () => request<{ items: FailedInbound[] }>('/api/inbox/failed').then((r) => r.items),
  retry: (id: string) => request<InboundRetry>(`/api/inbox/inbound/${enc(id)}/retry`, { method: 'POST', body: {} }),
};
