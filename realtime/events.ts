import type { ActivityDto, NotificationDto, RecordUpdated } from '../server/events.ts';

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
}

// Client-to-server events arrive with the domain issues (record:watch, presence:set, ...).
export type ClientToServerEvents = Record<string, never>;

export type InterServerEvents = Record<string, never>;

export interface SocketData extends SessionInfo {
  sessionId: string;
}

export const rooms = {
  tenant: (id: string) => `tenant:${id}`,
  user: (id: string) => `user:${id}`,
  record: (type: string, id: string) => `record:${type}:${id}`,
};
