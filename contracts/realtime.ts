import { z } from './zod.ts';
import { ENTITY_TYPES, isoDate, role, uuid } from './common.ts';
import type { AccountHealth } from './accounts.ts';
import type { ConversationChange } from './inbox.ts';
import type { Activity, Notification } from './timeline.ts';
import type { Meeting } from './meetings.ts';

/**
 * The Socket.io event maps, as the browser receives them (JSON: dates are ISO strings). The server's own side
 * (inter-server events, socket data, room names) stays in realtime/events.ts. Event names are `topic:verb`.
 */

export const sessionInfo = z.object({ userId: uuid, userName: z.string(), tenantId: uuid, role });
export type SessionInfo = z.infer<typeof sessionInfo>;

/** What a socket can watch: a CRM record or a conversation. */
export const watchableType = z.enum(ENTITY_TYPES);
export type WatchableType = z.infer<typeof watchableType>;

export const PRESENCE_STATES = ['viewing', 'typing', 'replying', 'idle'] as const;
export const presenceState = z.enum(PRESENCE_STATES);
export type PresenceState = z.infer<typeof presenceState>;

export const presenceUser = z.object({
  userId: uuid,
  name: z.string(),
  state: presenceState,
  /** When this user entered that state. */
  since: isoDate,
});
export type PresenceUser = z.infer<typeof presenceUser>;

export const presenceUpdate = z.object({ type: watchableType, id: uuid, users: z.array(presenceUser) });
export type PresenceUpdate = z.infer<typeof presenceUpdate>;

/** A record changed (or was deleted): its new values and version. */
export const recordUpdated = z.object({
  type: z.string(),
  id: uuid,
  changes: z.record(z.string(), z.unknown()),
  version: z.number().int(),
  deleted: z.boolean().optional(),
});
export type RecordUpdated = z.infer<typeof recordUpdated>;

export interface AckError {
  ok: false;
  error: { code: string; message: string };
}

export type WatchAck =
  { ok: true; presence: PresenceUser[]; missed: Activity[]; truncated: boolean; lastSeq: number } | AckError;
export type SimpleAck = { ok: true } | AckError;
export type InboxWatchAck = { ok: true; mailboxIds: string[] } | AckError;

export interface ServerToClientEvents {
  /** Sent once after a successful handshake (and again when the role changes): who the server thinks this socket is. */
  'session:ready': (info: SessionInfo) => void;
  /** A new timeline entry, to the tenant feed and to the rooms of the record (and of its company). */
  'activity:new': (activity: Activity) => void;
  /** A record changed (or was deleted): its new values and version. */
  'record:updated': (update: RecordUpdated) => void;
  /** To every open tab of the user concerned, with their unread count. */
  'notification:new': (payload: { notification: Notification; unread: number }) => void;
  /** Who is on a record, on every join, leave, state change and disconnect. */
  'presence:update': (update: PresenceUpdate) => void;
  /** A conversation of a mailbox this socket follows (`inbox:watch`) changed: new mail, status, assignee, tags. */
  'conversation:updated': (change: ConversationChange) => void;
  /** An email account's health changed (status, sync progress, last error): to the members who see its mailbox. */
  'account:health': (health: AccountHealth) => void;
  /** A task of the workspace was created, changed or deleted (contracts/tasks.ts): lists and badges fetch again. */
  'task:changed': (change: { id: string; assigneeId: string | null; version: number; deleted?: boolean }) => void;
  /** A meeting this user hosts or is invited to changed (scheduled, moved, cancelled, started, over); `removed`: no longer invited. */
  'meeting:updated': (payload: { meeting: Meeting; removed: boolean }) => void;
}

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
