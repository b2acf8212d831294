import { io as connect, type Socket } from 'socket.io-client';
import type { ActivityDto } from '../../server/timeline/publisher.ts';
import type {
  ClientToServerEvents,
  PresenceUpdate,
  ServerToClientEvents,
  SessionInfo,
  WatchAck,
} from '../../realtime/events.ts';

export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A signed-in Socket.io client that records what it receives, so tests can wait for it. */
export class LiveClient {
  readonly socket: LiveSocket;
  readonly activities: ActivityDto[] = [];
  readonly presence: PresenceUpdate[] = [];
  readonly events: { name: string; payload: unknown }[] = [];
  #waiters: (() => void)[] = [];

  constructor(baseUrl: string, auth: { cookie?: string; token?: string }) {
    this.socket = connect(baseUrl, {
      transports: ['websocket'],
      reconnection: false,
      ...(auth.cookie ? { extraHeaders: { cookie: auth.cookie } } : {}),
      ...(auth.token ? { auth: { token: auth.token } } : {}),
    });
    this.socket.on('activity:new', (a) => this.#push('activity:new', a, () => this.activities.push(a)));
    this.socket.on('presence:update', (p) => this.#push('presence:update', p, () => this.presence.push(p)));
    this.socket.on('notification:new', (n) => this.#push('notification:new', n));
    this.socket.on('record:updated', (u) => this.#push('record:updated', u));
  }

  #push(name: string, payload: unknown, also?: () => void) {
    also?.();
    this.events.push({ name, payload });
    for (const w of this.#waiters.splice(0)) w();
  }

  ready(): Promise<SessionInfo> {
    return new Promise((resolve, reject) => {
      this.socket.once('session:ready', resolve);
      this.socket.once('connect_error', reject);
    });
  }

  /** Resolves when `check` holds for what was received (re-checked on every event), or fails after `ms`. */
  async until<T>(check: () => T | undefined | false, ms = 10_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = check();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received: ${JSON.stringify(this.events.map((e) => e.name))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  watch(type: 'company' | 'contact' | 'deal' | 'conversation', id: string, since?: number): Promise<WatchAck> {
    return this.socket.emitWithAck('record:watch', { type, id, ...(since === undefined ? {} : { since }) });
  }

  close() {
    this.socket.disconnect();
  }
}
