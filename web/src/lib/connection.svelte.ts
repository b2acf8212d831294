import { getSocket } from './socket.ts';
import type { SessionInfo } from '../../../realtime/events.ts';

/**
 * - `idle`: not started (nobody signed in);
 * - `connecting`: started, not connected yet;
 * - `live`: connected;
 * - `offline`: was connected and lost it (Socket.io keeps retrying), or the server refused the handshake.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'live' | 'offline';

/** The state of the realtime connection, for the indicator in the app shell. */
class Connection {
  status = $state<ConnectionStatus>('idle');
  /** What the server said about this socket in `session:ready`. */
  info = $state<SessionInfo | null>(null);
  /** Why the last attempt failed, e.g. `unauthorized`; `null` once connected. */
  error = $state<string | null>(null);
  /** The server refused the handshake and Socket.io will not retry by itself (e.g. the session expired). */
  refused = $state(false);

  #listening = false;

  /** Connects the socket (the session cookie authenticates it). Calling it again while started does nothing. */
  start(): void {
    const socket = getSocket();
    if (!this.#listening) this.#listen();
    if (socket.connected || socket.active) return;
    this.status = 'connecting';
    this.refused = false;
    socket.connect();
  }

  /** Disconnects, e.g. on sign-out. */
  stop(): void {
    getSocket().disconnect();
    this.status = 'idle';
    this.info = null;
    this.error = null;
    this.refused = false;
  }

  #listen(): void {
    const socket = getSocket();
    this.#listening = true;
    socket.on('connect', () => {
      this.status = 'live';
      this.error = null;
      this.refused = false;
    });
    socket.on('session:ready', (info) => {
      this.info = info;
    });
    socket.on('disconnect', (reason) => {
      this.info = null;
      // Our own disconnect() is a stop, not an outage.
      if (reason !== 'io client disconnect') this.status = 'offline';
    });
    socket.on('connect_error', (err) => {
      this.error = err.message;
      if (!socket.active) {
        // Refused by the server's middleware: Socket.io will not retry on its own.
        this.refused = true;
        this.status = 'offline';
      }
    });
  }
}

export const connection = new Connection();
