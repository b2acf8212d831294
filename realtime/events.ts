import type { ActivityDto, ConversationChanged, NotificationDto, RecordUpdated } from '../server/timeline/publisher.ts';
import type { AccessChange } from '../server/auth/access.ts';

/** Typed event maps shared by the server and the web client. Event names are `topic:verb`. */

export interface SessionInfo {
  userId: string;
  userName: string;
  tenantId: string;
  role: 'owner' | 'admin' | 'member';
}

export interface ServerToClientEvents {
  /** Sent once after a successful handshake: who the server thinks this socket is. */
  'session:ready': (info: SessionInfo) => void;
  /** A new timeline entry, to the tenant feed and to the rooms of the record (and of its company). */
  'activity:new': (activity: ActivityDto) => void;
  /** A record changed (or was deleted): its new values and version. */
  'record:updated': (update: RecordUpdated) => void;
  /** To every open tab of the user concerned, with their unread count. */
  'notification:new': (payload: { notification: NotificationDto; unread: number }) => void;
  /** Who is on a record, on every join, leave, state change and disconnect. */
  'presence:update': (update: PresenceUpdate) => void;
  /** A conversation of a mailbox this socket follows (`inbox:watch`) changed: new mail, status, assignee, tags. */
  'conversation:updated': (change: ConversationChanged) => void;
}

export type WatchableType = 'company' | 'contact' | 'deal' | 'conversation';
export type PresenceState = 'viewing' | 'typing' | 'replying' | 'idle';

export interface PresenceUser {
  userId: string;
  name: string;
  state: PresenceState;
  /** When this user entered that state (ISO time). */
  since: string;
}

export interface PresenceUpdate {
  type: WatchableType;
  id: string;
  users: PresenceUser[];
}

export interface AckError {
  ok: false;
  error: { code: string; message: string };
}

export type WatchAck =
  { ok: true; presence: PresenceUser[]; missed: ActivityDto[]; truncated: boolean; lastSeq: number } | AckError;
export type SimpleAck = { ok: true } | AckError;
export type InboxWatchAck = { ok: true; mailboxIds: string[] } | AckError;

export interface ClientToServerEvents {
  /**
   * Join a record's room. `since` is the last activity seq the client saw: the ack carries every activity of
   * the record after it (oldest first), so a reconnecting client misses nothing.
   */
  'record:watch': (payload: { type: WatchableType; id: string; since?: number }, ack: (res: WatchAck) => void) => void;
  'record:unwatch': (payload: { type: WatchableType; id: string }, ack?: (res: SimpleAck) => void) => void;
  /** Follow the conversation lists of every mailbox this user sees (`conversation:updated`); again after a reconnect. */
  'inbox:watch': (payload: Record<string, never>, ack: (res: InboxWatchAck) => void) => void;
  'presence:set': (
    payload: { type: WatchableType; id: string; state: PresenceState },
    ack?: (res: SimpleAck) => void,
  ) => void;
}

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
