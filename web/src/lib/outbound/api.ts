/** Typed calls to the outbound endpoints: replies, new messages, templates, signatures, sending domains, the dev outbox. */
import { request } from '#lib/api.ts';
import { query } from '#lib/crm/api.ts';
import { upload } from '#lib/upload.ts';
import type { MailboxTransport, MailboxTransportInput } from '#contracts/inbox';
import type {
  EmailTemplate,
  NewMessageInput,
  OutboundMessage,
  OutboxItem,
  RenderedTemplate,
  RenderInput,
  ReplyInput,
  Sender,
  SendingDomain,
  Signature,
  SignatureInput,
  TemplateInput,
  TemplatePatch,
  UploadedFile,
} from '#contracts/outbound';

const enc = encodeURIComponent;

export const outbound = {
  reply: (conversationId: string, body: ReplyInput) =>
    request<OutboundMessage>(`/api/inbox/conversations/${enc(conversationId)}/replies`, { method: 'POST', body }),
  start: (body: NewMessageInput) => request<OutboundMessage>('/api/inbox/messages', { method: 'POST', body }),
  /** The Froms this user may send as: shared mailboxes, then their accounts' addresses and aliases. */
  senders: () => request<{ items: Sender[] }>('/api/inbox/senders').then((r) => r.items),
  /** An outgoing message with its delivery state. */
  get: (messageId: string) => request<OutboundMessage>(`/api/inbox/messages/${enc(messageId)}/delivery`),
  retry: (messageId: string) =>
    request<OutboundMessage>(`/api/inbox/messages/${enc(messageId)}/retry`, { method: 'POST', body: {} }),
  upload: (file: File, onProgress: (fraction: number) => void) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return upload<UploadedFile>('/api/inbox/uploads', form, onProgress);
  },
};

export const templates = {
  list: () => request<{ items: EmailTemplate[] }>('/api/inbox/templates').then((r) => r.items),
  create: (body: TemplateInput) => request<EmailTemplate>('/api/inbox/templates', { method: 'POST', body }),
  update: (id: string, body: TemplatePatch) =>
    request<EmailTemplate>(`/api/inbox/templates/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`/api/inbox/templates/${enc(id)}`, { method: 'DELETE' }),
  render: (id: string, source: RenderInput) =>
    request<RenderedTemplate>(`/api/inbox/templates/${enc(id)}/render`, { method: 'POST', body: source }),
};

export const signatures = {
  list: () => request<{ items: Signature[] }>('/api/inbox/signatures').then((r) => r.items),
  /** The one a message from this mailbox gets by default. */
  forMailbox: (mailboxId: string) =>
    request<{ signature: Signature | null }>(`/api/inbox/signatures/default${query({ mailboxId })}`).then(
      (r) => r.signature,
    ),
  create: (body: SignatureInput) => request<Signature>('/api/inbox/signatures', { method: 'POST', body }),
  update: (id: string, body: string) =>
    request<Signature>(`/api/inbox/signatures/${enc(id)}`, { method: 'PATCH', body: { body } }),
  remove: (id: string) => request<void>(`/api/inbox/signatures/${enc(id)}`, { method: 'DELETE' }),
};

export const devOutbox = {
  list: () => request<{ items: OutboxItem[] }>('/api/dev/outbox').then((r) => r.items),
};

export const mailboxTransport = {
  update: (mailboxId: string, body: MailboxTransportInput) =>
    request<MailboxTransport>(`/api/inbox/mailboxes/${enc(mailboxId)}`, { method: 'PATCH', body }),
};

export const sendingDomains = {
  list: () => request<{ items: SendingDomain[] }>('/api/inbox/sending-domains').then((r) => r.items),
  add: (domain: string) => request<SendingDomain>('/api/inbox/sending-domains', { method: 'POST', body: { domain } }),
  /** Looks the TXT record up now; the answer says whether it was found. */
  verify: (id: string) =>
    request<SendingDomain>(`/api/inbox/sending-domains/${enc(id)}/verify`, { method: 'POST', body: {} }),
  remove: (id: string) => request<void>(`/api/inbox/sending-domains/${enc(id)}`, { method: 'DELETE' }),
};
