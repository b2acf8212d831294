import { getSocket } from './socket.ts';
import type { Activity, AppNotification, RecordUpdate } from './crm/types.ts';

/** The server's events as they arrive in the browser: JSON, so dates are strings. */
export interface RealtimeEvents {
  'activity:new': (activity: Activity) => void;
  'record:updated': (update: RecordUpdate) => void;
  'notification:new': (payload: { notification: AppNotification; unread: number }) => void;
  /** The socket (re)connected: whoever keeps a live list may have missed events while it was down. */
  connect: () => void;
}

/** Subscribes to a realtime event; returns the unsubscribe function (handy as an `$effect` teardown). */
export function listen<E extends keyof RealtimeEvents>(event: E, handler: RealtimeEvents[E]): () => void {
  const socket = getSocket() as unknown as {
    on(event: string, handler: (...args: never[]) => void): void;
    off(event: string, handler: (...args: never[]) => void): void;
  };
  socket.on(event, handler);
  return () => socket.off(event, handler);
}

/** Whether an activity belongs on a record's timeline (a company's includes its contacts' and deals'). */
export function concerns(activity: Activity, entityType: string, entityId: string): boolean {
  if (entityType === 'company') return activity.companyId === entityId || activity.entityId === entityId;
  return activity.entityType === entityType && activity.entityId === entityId;
}
