import type { AccessChange } from './access.ts';

/**
 * How long a resolved credential is served from memory. Invalidation is pushed to every node, so this only bounds
 * what a lost message (a Redis or LISTEN connection dropping mid-change) could leave: 10 s, half the time a silent
 * socket takes to be dropped. At the hot path's rates a session or token is then looked up once per 10 s, not
 * once per request.
 */
export const AUTH_CACHE_TTL_MS = 10_000;
// Each entry is a few hundred bytes: 10,000 active credentials per node is a few megabytes.
const MAX_ENTRIES = 10_000;

export interface CachedCredential<T> {
  value: T;
  tenantId: string;
  userId: string;
  /** When the session or token itself expires (ms since epoch), null for a token without expiry. */
  expiresAt: number | null;
}

interface Entry<T> extends CachedCredential<T> {
  cachedUntil: number;
}

/**
 * Resolved sessions and API tokens of this node, by the SHA-256 of the credential: bounded (least recently used
 * goes first), short-lived, and dropped on every access change heard from any node. A look-up that was under way
 * while a change arrived is not stored (it may have read the row before the change committed).
 */
export class AuthCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #ttlMs: number;
  readonly #max: number;
  // Bumped by every invalidation: a look-up stores its result only if none happened while it ran.
  #epoch = 0;
  /** False while the channel that carries other nodes' changes is down: nothing is served or stored then. */
  trusted: () => boolean = () => true;

  constructor(opts: { ttlMs?: number; max?: number } = {}) {
    this.#ttlMs = opts.ttlMs ?? AUTH_CACHE_TTL_MS;
    this.#max = opts.max ?? MAX_ENTRIES;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached credential, unless stale, expired, or the invalidation channel is down. */
  get(key: string, now = Date.now()): CachedCredential<T> | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.cachedUntil <= now || (entry.expiresAt !== null && entry.expiresAt <= now) || !this.trusted()) {
      this.#entries.delete(key);
      return undefined;
    }
    // Map order is insertion order: moving the entry to the end makes the first one the least recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  /** Call before the database look-up; pass the result to `set` with it. */
  begin(): number {
    return this.#epoch;
  }

  set(key: string, credential: CachedCredential<T>, begun: number, now = Date.now()): void {
    if (begun !== this.#epoch || !this.trusted()) return;
    this.#entries.delete(key);
    this.#entries.set(key, { ...credential, cachedUntil: now + this.#ttlMs });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  delete(key: string): void {
    this.#epoch++;
    this.#entries.delete(key);
  }

  /** Drops what the change may concern: the user's credentials in that workspace, in all of them, or the workspace's. */
  forget({ tenantId, userId }: AccessChange): void {
    this.#epoch++;
    if (!tenantId && !userId) return this.clear();
    for (const [key, entry] of this.#entries) {
      if ((tenantId === undefined || entry.tenantId === tenantId) && (userId === undefined || entry.userId === userId))
        this.#entries.delete(key);
    }
  }

  clear(): void {
    this.#epoch++;
    this.#entries.clear();
  }
}
