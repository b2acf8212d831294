import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '#contracts/realtime';
import { ApiError, type ApiErrorBody } from './api.ts';
import { query } from './crm/api.ts';
import type { FullContext } from '#contracts/crm';
import type { Activity } from '#contracts/timeline';

/** What a wall shows: the newest entries only. */
export const WALL_SIZE = 50;
const CATCH_UP_PAGE = 200;
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 30_000;
const FACTS_DEBOUNCE_MS = 400;
const FRESH_MS = 8_000;

/** A read-only token from the URL fragment (`#token=filo_…`): never sent to the server as part of a URL. */
export function tokenFromHash(hash: string): string | undefined {
  return hash.match(/(?:^#|&)token=(filo_[\w-]{20,})(?:&|$)/)?.[1];
}

/** The wall's link for a token: the token rides in the fragment, which browsers never send to the server. */
export function wallLink(origin: string, token: string, companyId?: string): string {
  return `${origin}/wall${companyId ? `/company/${encodeURIComponent(companyId)}` : ''}#token=${token}`;
}

/**
 * - `connecting`: the first connection is on its way;
 * - `catchingUp`: connected, fetching what happened while away;
 * - `live`: connected and up to date;
 * - `offline`: the connection dropped (it comes back by itself).
 */
export type WallStatus = 'connecting' | 'catchingUp' | 'live' | 'offline';

/** GETs with the session cookie, or with the token as `Authorization: Bearer` (never in the URL). */
async function get<T>(path: string, token: string | undefined): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { headers, credentials: token ? 'omit' : 'same-origin' });
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the Filo server.');
  }
  const data = (await res.json().catch(() => undefined)) as unknown;
  if (res.ok) return data as T;
  const error = (data as ApiErrorBody | undefined)?.error;
  throw new ApiError(res.status, error?.code ?? `http_${res.status}`, error?.message ?? `HTTP ${res.status}`);
}

/**
 * The operator wall's live feed: the workspace's (or one company's) newest activities, newest on top, kept live
 * over a socket of its own that reconnects by itself whatever closed it, catching up by seq after every
 * reconnect, duplicates dropped by id. A company's wall also keeps the company's key facts current. Works with
 * the session cookie or a read-only API token.
 */
export class WallFeed {
  items = $state.raw<Activity[]>([]);
  status = $state<WallStatus>('connecting');
  /** Why the wall cannot show the feed: `unauthorized`, `not_found`, or a message. */
  error = $state<string | null>(null);
  /** The company of a company wall, with its contacts and deals. */
  context = $state.raw<FullContext | null>(null);
  /** Ids of entries that arrived while the wall was on, for a highlight. */
  fresh = $state.raw<string[]>([]);

  readonly companyId: string | undefined;
  readonly #token: string | undefined;
  #lastSeq = 0;
  #loaded = false;
  #socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #factsTimer: ReturnType<typeof setTimeout> | undefined;
  #retries = 0;
  #stopped = false;

  constructor(opts: { companyId?: string | undefined; token?: string | undefined }) {
    this.companyId = opts.companyId;
    this.#token = opts.token;
  }

  get live(): boolean {
    return this.status === 'live';
  }

  #concerns(a: Activity): boolean {
    return !this.companyId || a.companyId === this.companyId || a.entityId === this.companyId;
  }

  #merge(incoming: Activity[], live: boolean): void {
    const known: Record<string, true> = Object.fromEntries(this.items.map((a) => [a.id, true]));
    const added = incoming.filter((a) => this.#concerns(a) && !known[a.id]);
    for (const a of incoming) this.#lastSeq = Math.max(this.#lastSeq, a.seq);
    if (!added.length) return;
    this.items = [...added, ...this.items].sort((a, b) => b.seq - a.seq).slice(0, WALL_SIZE);
    if (live && this.#loaded) {
      const ids = added.map((a) => a.id);
      this.fresh = [...this.fresh, ...ids];
      setTimeout(() => (this.fresh = this.fresh.filter((id) => !ids.includes(id))), FRESH_MS);
    }
  }

  #timeline(params: { limit: number; after?: number }): Promise<Activity[]> {
    const scope = this.companyId ? { entityType: 'company', entityId: this.companyId } : {};
    return get<{ items: Activity[] }>(`/api/crm/timeline${query({ ...params, ...scope })}`, this.#token).then(
      (r) => r.items,
    );
  }

  async #loadFacts(): Promise<void> {
    if (!this.companyId) return;
    this.context = await get<FullContext>(
      `/api/crm/companies/${encodeURIComponent(this.companyId)}/full-context`,
      this.#token,
    );
  }

  #refreshFactsSoon(): void {
    clearTimeout(this.#factsTimer);
    this.#factsTimer = setTimeout(
      () =>
        void this.#loadFacts().catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 404) this.error = 'not_found';
        }),
      FACTS_DEBOUNCE_MS,
    );
  }

  /** First connection: the newest entries; after a drop: everything since the last seq seen. */
  async #catchUp(): Promise<void> {
    const socket = this.#socket;
    this.status = 'catchingUp';
    try {
      if (!this.#loaded) {
        const [items] = await Promise.all([this.#timeline({ limit: WALL_SIZE }), this.#loadFacts()]);
        this.#merge(items, false);
        this.#loaded = true;
      } else {
        // Newest first: the newest page after the last seq seen is all a wall of 50 needs.
        this.#merge(await this.#timeline({ after: this.#lastSeq, limit: CATCH_UP_PAGE }), true);
        await this.#loadFacts();
      }
      if (socket === this.#socket && socket?.connected) this.status = 'live';
      this.error = null;
      this.#retries = 0;
    } catch (err) {
      this.error = err instanceof ApiError ? (err.status === 401 ? 'unauthorized' : err.code) : String(err);
      // Not found or not allowed will not change by itself; anything else is tried again shortly.
      if (err instanceof ApiError && (err.status === 404 || err.status === 401 || err.status === 403)) return;
      this.#later(() => {
        if (socket?.connected) void this.#catchUp();
      });
    }
  }

  /** Runs `fn` after a backoff: 2 s, doubling up to 30 s while things keep failing. */
  #later(fn: () => void): void {
    clearTimeout(this.#retryTimer);
    const delay = Math.min(RETRY_MIN_MS * 2 ** this.#retries, RETRY_MAX_MS);
    this.#retries++;
    this.#retryTimer = setTimeout(() => {
      if (!this.#stopped) fn();
    }, delay);
  }

  /** Starts the feed; returns the function that stops it. */
  start(): () => void {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
      path: '/socket.io',
      withCredentials: !this.#token,
      reconnectionDelayMax: 10_000,
      ...(this.#token ? { auth: { token: this.#token } } : {}),
    });
    this.#socket = socket;
    socket.on('connect', () => void this.#catchUp());
    socket.on('disconnect', (reason) => {
      if (this.#stopped) return;
      this.status = 'offline';
      // Socket.io comes back by itself after a network failure, not when the server closed the connection
      // (a restart, a deploy): then we do.
      if (reason === 'io server disconnect') this.#later(() => socket.connect());
    });
    socket.on('connect_error', (err) => {
      this.status = this.#loaded ? 'offline' : 'connecting';
      if (err.message === 'unauthorized') this.error = 'unauthorized';
      // Refused by the server (not a network error): Socket.io will not retry on its own.
      if (!socket.active) this.#later(() => socket.connect());
    });
    socket.on('activity:new', (dto) => {
      const activity: Activity = dto;
      if (!this.#concerns(activity)) return;
      this.#merge([activity], true);
      if (this.companyId && !activity.type.startsWith('note.')) this.#refreshFactsSoon();
    });
    return () => {
      this.#stopped = true;
      clearTimeout(this.#retryTimer);
      clearTimeout(this.#factsTimer);
      socket.disconnect();
    };
  }
}
