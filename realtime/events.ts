import type { AccessChange } from '../server/auth/access.ts';
import type { PresenceState, SessionInfo } from '#contracts/realtime';

/** The event maps shared with the web client live in contracts/realtime.ts; the server's own side is here. */
export type {
  AckError,
  ClientToServerEvents,
  InboxWatchAck,
  PresenceState,
  PresenceUpdate,
  PresenceUser,
  ServerToClientEvents,
  SessionInfo,
  SimpleAck,
  WatchableType,
  WatchAck,
} from '#contracts/realtime';

export interface InterServerEvents {
  /** Someone's access changed: every node re-checks its own sockets concerned against the database. */
  'access:changed': (change: AccessChange) => void;
}

export interface SocketData extends SessionInfo {
  /** The session's token hash, or the API token's id (see `via`): re-checked by every handler. */
  sessionId: string;
  via: 'session' | 'token';
  scope: 'full' | 'read';
  /** Per watched room: this socket's presence there. Read cluster-wide through fetchSockets(). */
  presence: Record<string, { state: PresenceState; since: string }>;
}

export const rooms = {
  tenant: (id: string) => `tenant:${id}`,
  /** One user's sockets in one workspace: a person in several workspaces has a room per workspace. */
  user: (tenantId: string, userId: string) => `user:${tenantId}:${userId}`,
  record: (type: string, id: string) => `record:${type}:${id}`,
  inbox: (mailboxId: string) => `inbox:${mailboxId}`,
};
