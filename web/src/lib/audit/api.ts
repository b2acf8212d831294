import { request } from '#lib/api.ts';
import type { AuditEntry, RetentionSettings } from '#contracts/audit';

/** The filters of the audit log page, as the query string of `/api/audit` and its CSV export. */
export interface AuditFilters {
  action?: string;
  actor?: string;
  target?: string;
  from?: string;
  to?: string;
}

export const auditQuery = (filters: AuditFilters, extra: Record<string, string> = {}): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...filters, ...extra })) if (value) params.set(key, value);
  return params.toString();
};

export const auditApi = {
  list: (filters: AuditFilters, cursor?: string) =>
    request<{ items: AuditEntry[]; nextCursor: string | null }>(
      `/api/audit?${auditQuery(filters, cursor ? { cursor } : {})}`,
    ),
  exportUrl: (filters: AuditFilters) => `/api/audit/export?${auditQuery(filters)}`,
  verify: () => request<{ ok: boolean; entries: number; brokenSeq?: number }>('/api/audit/verify'),
};

export const retentionApi = {
  get: () => request<RetentionSettings>('/api/retention'),
  update: (patch: Partial<RetentionSettings>) =>
    request<RetentionSettings>('/api/retention', { method: 'PATCH', body: patch }),
};
