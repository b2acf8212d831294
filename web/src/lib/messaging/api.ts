/** Typed calls to the messaging endpoints: accounts, templates, sending and the composer's context. */
import { request } from '#lib/api.ts';
import type {
  ComposeContext,
  MessageTemplate,
  MessageTemplateInput,
  MessagingAccount,
  MessagingAccountInput,
  MessagingAccountPatch,
  MessagingProvider,
  SendMessageInput,
} from '#contracts/messaging';

const enc = encodeURIComponent;

export const messaging = {
  providers: () => request<{ items: MessagingProvider[] }>('/api/messaging/providers').then((r) => r.items),
  accounts: () => request<{ items: MessagingAccount[] }>('/api/messaging/accounts').then((r) => r.items),
  createAccount: (body: MessagingAccountInput) =>
    request<MessagingAccount>('/api/messaging/accounts', { method: 'POST', body }),
  updateAccount: (id: string, body: MessagingAccountPatch) =>
    request<MessagingAccount>(`/api/messaging/accounts/${enc(id)}`, { method: 'PATCH', body }),
  removeAccount: (id: string) => request<void>(`/api/messaging/accounts/${enc(id)}`, { method: 'DELETE' }),
  templates: (channel?: string) =>
    request<{ items: MessageTemplate[] }>(`/api/messaging/templates${channel ? `?channel=${enc(channel)}` : ''}`).then(
      (r) => r.items,
    ),
  createTemplate: (body: MessageTemplateInput) =>
    request<MessageTemplate>('/api/messaging/templates', { method: 'POST', body }),
  send: (body: SendMessageInput) =>
    request<{ id: string; conversationId: string; status: string }>('/api/messaging/messages', {
      method: 'POST',
      body,
    }),
  compose: (conversationId: string) =>
    request<ComposeContext>(`/api/messaging/conversations/${enc(conversationId)}/compose`),
};
