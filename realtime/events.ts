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
};
