import { HttpError } from '../http/errors.ts';
import { FixedWindows, tooMany } from '../http/rate-limit.ts';

export interface CredentialLimits {
  /** Failures of one account from one address before it is locked there. */
  freeFailures: number;
  /** The first lock; each further failure doubles it, up to `maxLockMs`. */
  baseLockMs: number;
  maxLockMs: number;
  /** Failed checks of any credential (password, token, link) from one address per window. */
  ipFailures: number;
  ipWindowMs: number;
  /** An account's failures from an address are forgotten after this long without one. */
  forgetAfterMs: number;
}

export const DEFAULT_CREDENTIAL_LIMITS: CredentialLimits = {
  freeFailures: 10,
  baseLockMs: 30_000,
  maxLockMs: 15 * 60_000,
  ipFailures: 100,
  ipWindowMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
};

interface AccountEntry {
  failures: number;
  lockedUntil: number;
  seenAt: number;
}

/** The 429 of a refused credential check (kept under this name for its callers). */
export const rateLimited = (retryAfterMs: number) => tooMany(retryAfterMs);

/**
 * Every credential check (sign-in, invitation, API and socket tokens, calendar feeds, guest links) goes
 * through here. An account is locked only for the address that keeps failing, with a doubling backoff, so that
 * a guesser elsewhere cannot lock its owner out; an address is capped on failures only, never on successes.
 * In memory, per process: behind a sticky load balancer each node counts its own share.
 */
export class CredentialLimiter {
  readonly #limits: CredentialLimits;
  readonly #accounts = new Map<string, AccountEntry>();
  readonly #ips: FixedWindows;
  readonly #now: () => number;

  constructor(limits: Partial<CredentialLimits> = {}, now: () => number = Date.now) {
    this.#limits = { ...DEFAULT_CREDENTIAL_LIMITS, ...limits };
    this.#now = now;
    this.#ips = new FixedWindows(this.#limits.ipWindowMs, now);
  }

  /** Throws 429 (with Retry-After) when this address, or this account from this address, may not try now. */
  check(ip: string | undefined, account?: string): void {
    const now = this.#now();
    const byIp = this.#ips.peek(ipKey(ip));
    if (byIp && byIp.count >= this.#limits.ipFailures) throw rateLimited(byIp.resetAt - now);
    if (account === undefined) return;
    const entry = this.#accounts.get(accountKey(account, ip));
    if (entry && entry.lockedUntil > now) throw rateLimited(entry.lockedUntil - now);
  }

  /** Whether this address may try now (for callers that answer otherwise than with an HTTP error). */
  allows(ip: string | undefined, account?: string): boolean {
    try {
      this.check(ip, account);
      return true;
    } catch {
      return false;
    }
  }

  /** Records a failed check. */
  failed(ip: string | undefined, account?: string): void {
    const now = this.#now();
    this.#sweep(now);
    this.#ips.current(ipKey(ip)).count++;
    if (account === undefined) return;
    const key = accountKey(account, ip);
    let entry = this.#accounts.get(key);
    if (!entry || (entry.lockedUntil <= now && now - entry.seenAt > this.#limits.forgetAfterMs))
      entry = { failures: 0, lockedUntil: 0, seenAt: now };
    entry.failures++;
    entry.seenAt = now;
    const over = entry.failures - this.#limits.freeFailures;
    if (over >= 0) entry.lockedUntil = now + Math.min(this.#limits.maxLockMs, this.#limits.baseLockMs * 2 ** over);
    this.#accounts.set(key, entry);
  }

  /** A success forgets the account's failures from this address (the address's own count stays). */
  succeeded(ip: string | undefined, account: string): void {
    this.#accounts.delete(accountKey(account, ip));
  }

  #sweep(now: number): void {
    if (this.#accounts.size > 50_000)
      for (const [k, v] of this.#accounts)
        if (v.lockedUntil <= now && now - v.seenAt > this.#limits.forgetAfterMs) this.#accounts.delete(k);
  }
}

const ipKey = (ip: string | undefined) => ip ?? 'unknown';
const accountKey = (account: string, ip: string | undefined) => `${account.toLowerCase()}\u0000${ipKey(ip)}`;

/** A credential check refused: wrong password, unknown token or link. Other errors are not the caller's guess. */
export const isCredentialFailure = (err: unknown) =>
  err instanceof HttpError &&
  (err.status === 401 ||
    err.code === 'invitation_invalid' ||
    err.code === 'signup_link_invalid' ||
    err.code === 'reset_link_invalid');

/** Runs one credential check under the limiter: refused at once while locked, counted when it fails. */
export async function throttled<T>(
  limiter: CredentialLimiter,
  who: { ip: string | undefined; account?: string | undefined },
  check: () => Promise<T>,
): Promise<T> {
  limiter.check(who.ip, who.account);
  let result: T;
  try {
    result = await check();
  } catch (err) {
    if (isCredentialFailure(err)) limiter.failed(who.ip, who.account);
    throw err;
  }
  if (who.account !== undefined) limiter.succeeded(who.ip, who.account);
  return result;
}

// Proxies we trust to say who the client is, as Express's `trust proxy` (loopback, link-local, unique-local).
const TRUSTED_PROXY =
  /^(::ffff:)?(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)|^::1$|^f[cd][0-9a-f]{2}:|^fe80:/i;

/** The client's address for a socket handshake, read as Express reads it for requests. */
export function clientAddress(remote: string | undefined, forwardedFor: string | string[] | undefined): string {
  let address = remote ?? 'unknown';
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  while (TRUSTED_PROXY.test(address) && hops.length) address = hops.pop()!;
  return address;
}
