import { getSocket } from './socket.ts';
import type { ServerToClientEvents } from '#contracts/realtime';

/** The server's events as they arrive in the browser (contracts/realtime.ts: JSON, so dates are strings). */
export interface RealtimeEvents {
  'activity:new': ServerToClientEvents['activity:new'];
  'record:updated': ServerToClientEvents['record:updated'];
  'notification:new': ServerToClientEvents['notification:new'];
  'meeting:updated': ServerToClientEvents['meeting:updated'];
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
