import { getSocket } from './socket.ts';
import { session } from './session.svelte.ts';
import type { SessionInfo } from '#contracts/realtime';

/**
 * - `idle`: not started (nobody signed in);
 * - `connecting`: started, not connected yet;
 * - `live`: connected;
 * - `offline`: was connected and lost it, or the server refused or ended the connection.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'live' | 'offline';

const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 60_000;

/** The state of the realtime connection, for the indicator in the app shell. */
class Connection {
  status = $state<ConnectionStatus>('idle');
  /** What the server said about this socket in `session:ready`. */
  info = $state<SessionInfo | null>(null);
  /** Why the last attempt failed, e.g. `unauthorized`; `null` once connected. */
  error = $state<string | null>(null);
  /**
   * The server refused the handshake or ended the connection, and Socket.io will not retry by itself
   * (the session may have ended). Whoever knows the session decides: sign-in page, or {@link retry}.
   */
  stalled = $state(false);

  #listening = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retries = 0;

  /** Connects the socket (the session cookie authenticates it). Calling it again while started does nothing. */
  start(): void {
    const socket = getSocket();
    if (!this.#listening) this.#listen();
    if (socket.connected || socket.active) return;
    this.status = 'connecting';
    this.stalled = false;
    socket.connect();
  }

  /** Disconnects, e.g. on sign-out. */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#retries = 0;
    getSocket().disconnect();
    this.status = 'idle';
    this.info = null;
    this.error = null;
    this.stalled = false;
  }

  /** After a stall, connects again later: 2 s, then doubling up to a minute while it keeps failing. */
  retry(): void {
    clearTimeout(this.#retryTimer);
    const delay = Math.min(RETRY_MIN_MS * 2 ** this.#retries, RETRY_MAX_MS);
    this.#retries++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.stalled) return;
      this.stalled = false;
      getSocket().connect();
    }, delay);
  }

  #listen(): void {
    const socket = getSocket();
    this.#listening = true;
    socket.on('connect', () => {
      this.status = 'live';
      this.error = null;
      this.stalled = false;
      this.#retries = 0;
    });
    socket.on('session:ready', (info) => {
      // Sent again when this user's role changes: what the app shows and offers follows at once.
      if (session.me && session.me.role !== info.role) void session.load().catch(() => undefined);
      this.info = info;
    });
    socket.on('disconnect', (reason) => {
      this.info = null;
      // Our own disconnect() is a stop, not an outage.
      if (reason === 'io client disconnect') return;
      this.status = 'offline';
      // Socket.io reconnects by itself after a network failure, but not when the server closed the socket.
      if (reason === 'io server disconnect') this.stalled = true;
    });
    socket.on('connect_error', (err) => {
      this.error = err.message;
      if (!socket.active) {
        // Refused by the server (e.g. `unauthorized`): Socket.io will not retry on its own.
        this.status = 'offline';
        this.stalled = true;
      }
    });
  }
}

export const connection = new Connection();
