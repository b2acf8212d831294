import type { Server, Socket } from 'socket.io';
import type { Actor } from '../server/tenancy.ts';
import type { ActivityDto } from '../server/timeline/publisher.ts';
import type {
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
  WatchableType,
} from './events.ts';

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Who a handshake's credential belongs to. */
export interface SocketIdentity {
  user: { id: string; name: string };
  tenant: { id: string };
  role: Actor['role'];
  /** The session's token hash, or the API token's id. */
  sessionId: string;
  via: SocketData['via'];
  scope: SocketData['scope'];
  /** A scoped token's grants: such a token opens no socket (set means refused). */
  grants?: Actor['grants'];
}

/**
 * All that sockets need of the application (built from the services in server/filo.ts): who a credential
 * is, whether access still holds, what an actor may see, and the activities a watcher missed.
 */
export interface RealtimePort {
  /** Throttling of API-token handshakes per client address. */
  credentials: { allows(ip: string): boolean; failed(ip: string): void };
  /** The identity of an API token (`auth.token` of the handshake) or of the session cookie. */
  identify(credential: { token: string } | { cookie: string | undefined }): Promise<SocketIdentity | null>;
  /** The socket's actor as the database has it now: null once the session ended, the token was revoked or the member left. */
  currentActor(data: SocketData): Promise<Actor | null>;
  /** Ids of the mailboxes the actor sees. */
  visibleMailboxes(actor: Actor): Promise<string[]>;
  /** A record's activities after `after`, oldest first; throws the 404 HttpError when the actor may not see it. */
  activitiesOf(actor: Actor, type: WatchableType, id: string, after: number, limit: number): Promise<ActivityDto[]>;
  /** The workspace's newest activity sequence number. */
  lastSeq(actor: Actor): Promise<number>;
}
