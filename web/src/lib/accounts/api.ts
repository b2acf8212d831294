/** Typed calls to the email accounts endpoints (contracts/accounts.ts). */
import { request } from '#lib/api.ts';
import type {
  AccountInputBody,
  AccountOptions,
  AccountPatch,
  AccountTestBody,
  AccountTestResult,
  EmailAccountView,
} from '#contracts/accounts';

const enc = encodeURIComponent;
const base = '/api/email-accounts';

export const emailAccounts = {
  list: () => request<{ items: EmailAccountView[] }>(base).then((r) => r.items),
  options: () => request<AccountOptions>(`${base}/oauth/options`),
  create: (body: AccountInputBody) => request<EmailAccountView>(base, { method: 'POST', body }),
  update: (id: string, body: AccountPatch) =>
    request<EmailAccountView>(`${base}/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`${base}/${enc(id)}`, { method: 'DELETE' }),
  pause: (id: string) => request<EmailAccountView>(`${base}/${enc(id)}/pause`, { method: 'POST' }),
  resume: (id: string) => request<EmailAccountView>(`${base}/${enc(id)}/resume`, { method: 'POST' }),
  test: (body: AccountTestBody) => request<AccountTestResult>(`${base}/test`, { method: 'POST', body }),
  /** Where the browser goes to sign in at the provider (a full page load: the server redirects). */
  oauthStart: (provider: 'google' | 'microsoft') => `${base}/oauth/${provider}/start`,
};
