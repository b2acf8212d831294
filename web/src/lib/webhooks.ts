/** The webhooks API of Settings > Webhooks. */
import { request } from '#lib/api.ts';
import type { Webhook, WebhookDelivery } from '#contracts/webhooks';

const enc = encodeURIComponent;
export type NewWebhook = { url: string; description: string | null; events: string[] };

export const webhooksApi = {
  list: () => request<{ items: Webhook[] }>('/api/webhooks').then((r) => r.items),
  create: (body: NewWebhook) =>
    request<{ webhook: Webhook; secret: string }>('/api/webhooks', { method: 'POST', body }),
  update: (id: string, body: Partial<NewWebhook> & { active?: boolean }) =>
    request<Webhook>(`/api/webhooks/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`/api/webhooks/${enc(id)}`, { method: 'DELETE' }),
  rotate: (id: string) =>
    request<{ webhook: Webhook; secret: string }>(`/api/webhooks/${enc(id)}/secret`, { method: 'POST' }),
  ping: (id: string) => request<WebhookDelivery>(`/api/webhooks/${enc(id)}/ping`, { method: 'POST' }),
  deliveries: (id: string) =>
    request<{ items: WebhookDelivery[] }>(`/api/webhooks/${enc(id)}/deliveries`).then((r) => r.items),
  resend: (id: string, deliveryId: string) =>
    request<WebhookDelivery>(`/api/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/resend`, { method: 'POST' }),
};
