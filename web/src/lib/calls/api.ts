import { request } from '#lib/api.ts';
import { outbound } from '#lib/outbound/api.ts';
import type { CallInput } from '#contracts/calls';
import type { Activity } from '#contracts/timeline';
import type { Sender } from '#contracts/outbound';

/** Logs a call: the `call.logged` activity as written. */
export const logCall = (input: CallInput) => request<Activity>('/api/crm/calls', { method: 'POST', body: input });

/**
 * "4:30", "4" (minutes) or "" (none) as seconds: null for none, undefined for something else. Hours as "1:02:30".
 */
export function parseDuration(value: string): number | null | undefined {
  const v = value.trim();
  if (!v) return null;
  const parts = v.split(':');
  if (parts.length > 3 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
  const [a = 0, b = 0, c = 0] = parts.map(Number);
  if (parts.length === 1) return a * 60;
  if (parts.length === 2) return b < 60 ? a * 60 + b : undefined;
  return b < 60 && c < 60 ? a * 3600 + b * 60 + c : undefined;
}

let senders: Promise<Sender[]> | null = null;
/** The Froms this member may send with (fetched once a page load; a failure counts as none and is asked again). */
export function mySenders(): Promise<Sender[]> {
  senders ??= outbound.senders().catch(() => {
    senders = null;
    return [];
  });
  return senders;
}
