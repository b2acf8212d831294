import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../../realtime/events.ts';
import type { Activity } from './crm/types.ts';

const SHOWN = 50;

/** A read-only token from the URL fragment (`#token=filo_…`): never sent to the server as part of a URL. */
export function tokenFromHash(hash: string): string | undefined {
  return hash.match(/(?:^#|&)token=(filo_[\w-]{20,})(?:&|$)/)?.[1];
}

/**
 * The operator wall's live feed: the workspace's (or one company's) newest activities, kept live over its own
 * socket, catching up by seq after every reconnect, duplicates dropped by id. Works with the session cookie
 * or a read-only API token.
 */
export class WallFeed {
  items = $state.raw<Activity[]>([]);
  live = $state(false);
  error = $state<string | null>(null);
  readonly #companyId: string | undefined;
  readonly #token: string | undefined;
  #lastSeq = 0;

  constructor(opts: { companyId?: string | undefined; token?: string | undefined }) {
    this.#companyId = opts.companyId;
    this.#token = opts.token;
  }

  #headers(): Record<string, string> {
    return this.#token
      ? { authorization: `Bearer ${this.#token}`, accept: 'application/json' }
      : { accept: 'application/json' };
  }

  #merge(incoming: Activity[]) {
    const fresh = incoming.filter((a) => this.#concerns(a) && !this.items.some((b) => b.id === a.id));
    this.items = [...fresh, ...this.items].sort((a, b) => b.seq - a.seq).slice(0, SHOWN);
    this.#lastSeq = Math.max(this.#lastSeq, ...incoming.map((a) => a.seq));
  }

  #concerns(a: Activity) {
    return !this.#companyId || a.companyId === this.#companyId || a.entityId === this.#companyId;
  }

  async #fetch(after?: number) {
    let query = `limit=${after === undefined ? SHOWN : 200}`;
    if (this.#companyId) query += `&entityType=company&entityId=${encodeURIComponent(this.#companyId)}`;
    if (after !== undefined) query += `&after=${after}`;
    const res = await fetch(`/api/crm/timeline?${query}`, { headers: this.#headers(), credentials: 'same-origin' });
    if (!res.ok)
      throw new Error(
        ((await res.json().catch(() => null)) as { error?: { message?: string } } | null)?.error?.message ??
          `HTTP ${res.status}`,
      );
    return ((await res.json()) as { items: Activity[] }).items;
  }

  /** Starts the feed; returns the function that stops it. */
  start(): () => void {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
      path: '/socket.io',
      withCredentials: true,
      ...(this.#token ? { auth: { token: this.#token } } : {}),
    });
    let first = true;
    socket.on('connect', async () => {
      try {
        // First connection: the newest page; after a drop: everything since the last seq seen.
        this.#merge(await this.#fetch(first ? undefined : this.#lastSeq));
        first = false;
        this.live = true;
        this.error = null;
      } catch (err) {
        this.error = err instanceof Error ? err.message : String(err);
      }
    });
    socket.on('disconnect', () => (this.live = false));
    socket.on('connect_error', (err) => {
      this.live = false;
      this.error = err.message;
    });
    socket.on('activity:new', (a) => this.#merge([a as unknown as Activity]));
    return () => socket.disconnect();
  }
}
