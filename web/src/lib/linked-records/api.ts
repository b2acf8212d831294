/** Typed calls to the linked records API (contracts/linked-records.ts). */
import { request } from '#lib/api.ts';
import { query } from '#lib/crm/api.ts';
import type { Page } from '#contracts/common';
import type { LinkedRecord, LinkedRecordQuery } from '#contracts/linked-records';

export const linkedApi = {
  list: (params: Partial<Record<keyof LinkedRecordQuery, string | number>>, signal?: AbortSignal) =>
    request<Page<LinkedRecord>>(`/api/linked-records${query(params)}`, { signal }),
};
