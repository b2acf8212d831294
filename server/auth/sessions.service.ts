import { hash, randomBytes } from 'node:crypto';
import type { AuthVia, TokenGrant, TokenScope, User, Workspace } from '#contracts/auth';
import { LOCALES, type Locale } from '#contracts/common';
import type { MikroORM } from '../../db/orm.ts';
import type { MemberRole } from '../../db/entities/membership.entity.ts';
import type { AccessPort } from './access.ts';
import { AuthCache } from './auth-cache.ts';

export const SESSION_COOKIE = 'filo_session';
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
// Sliding expiry is refreshed at most this often, so that reads do not write on every request.
const TOUCH_EVERY_MS = 5 * 60 * 1000;

export interface AuthContext {
  user: User;
  tenant: Workspace;
  role: MemberRole;
  /** The session's token hash, or the API token's id. */
  sessionId: string;
  via: AuthVia;
  scope: TokenScope;
  /** An API token's grants (absent: every family, as `scope` says) and requests per minute. */
  grants?: TokenGrant[];
  rateLimit?: number;
  /** The stored keys of the user's picture and the workspace's logo, when the look-up read them (sessions). */
  pictures?: { avatarKey: string | null; logoKey: string | null };
}

/** Where a credential was resolved from: the metrics count both, so a test (or an operator) sees the cache work. */
export type LookupSource = 'cache' | 'database';

// A locale column the interface no longer offers reads as "not chosen".
const knownLocale = (value: string | null): Locale | null =>
  LOCALES.includes(value as Locale) ? (value as Locale) : null;

// One call (`crypto.hash`), not a Hash object made, fed and finished: it runs on every request.
export const hashToken = (token: string) => hash('sha256', token, 'hex');

interface SessionRow {
  token_hash: string;
  expires_at: Date;
  last_seen_at: Date;
  user_id: string;
  user_name: string;
  user_email: string;
  user_locale: string | null;
  tenant_id: string;
  tenant_name: string;
  tenant_slug: string;
  role: MemberRole;
  avatar_key: string | null;
  logo_key: string | null;
}

interface CachedSession {
  auth: AuthContext;
  lastSeenAt: number;
}

/**
 * Database-backed sessions: the cookie carries a random token, the table only its hash. Resolved sessions are kept
 * a few seconds in `cache` (dropped on every node by the access changes that concern them), so a request costs no
 * database round trip; sockets' re-checks (`current`) always read the database.
 */
export class SessionsService {
  readonly #orm: MikroORM;
  readonly #access: AccessPort | undefined;
  readonly cache = new AuthCache<CachedSession>();
  /** Told of each resolution (the metrics module counts them). */
  onLookup: ((source: LookupSource) => void) | undefined;

  constructor(orm: MikroORM, access?: AccessPort) {
    this.#orm = orm;
    this.#access = access;
  }

  async create(
    userId: string,
    tenantId: string,
    meta: { ip?: string | undefined; userAgent?: string | undefined } = {},
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    await this.#orm.em
      .getConnection()
      .execute(
        `insert into sessions (token_hash, user_id, tenant_id, expires_at, ip, user_agent) values (?, ?, ?, ?, ?, ?)`,
        [
          hashToken(token),
          userId,
          tenantId,
          expiresAt,
          meta.ip?.slice(0, 64) ?? null,
          meta.userAgent?.slice(0, 512) ?? null,
        ],
      );
    return { token, expiresAt };
  }

  /** The signed-in user, workspace and role for a cookie token, or null when unknown, expired or no longer a member. */
  async resolve(token: string | undefined): Promise<AuthContext | null> {
    if (!token || token.length > 200) return null;
    const tokenHash = hashToken(token);
    const hit = this.cache.get(tokenHash);
    if (hit) {
      this.onLookup?.('cache');
      await this.#slide(tokenHash, hit.value);
      return hit.value.auth;
    }
    this.onLookup?.('database');
    const begun = this.cache.begin();
    const rows = await this.#orm.em
      .getConnection()
      .execute<SessionRow[]>(`select * from filo_session_lookup(?)`, [tokenHash]);
    const row = rows[0];
    if (!row) return null;
    const session: CachedSession = { auth: authOf(row), lastSeenAt: new Date(row.last_seen_at).getTime() };
    await this.#slide(tokenHash, session);
    // The expiry as read (a slide just written only moves it later): never served past it.
    const expiresAt = new Date(row.expires_at).getTime();
    this.cache.set(tokenHash, { value: session, tenantId: row.tenant_id, userId: row.user_id, expiresAt }, begun);
    return session.auth;
  }

  /** The sliding expiry, written at most every TOUCH_EVERY_MS (cached or not). */
  async #slide(tokenHash: string, session: CachedSession): Promise<void> {
    if (Date.now() - session.lastSeenAt <= TOUCH_EVERY_MS) return;
    session.lastSeenAt = Date.now();
    await this.#orm.em
      .getConnection()
      .execute(`update sessions set last_seen_at = now(), expires_at = ? where token_hash = ?`, [
        new Date(Date.now() + SESSION_TTL_MS),
        tokenHash,
      ]);
  }

  /** Who a session (by its hash) is now, without sliding it: open sockets re-check their session with it. */
  async current(tokenHash: string): Promise<{ userName: string; role: MemberRole } | null> {
    const rows = await this.#orm.em
      .getConnection()
      .execute<SessionRow[]>(`select * from filo_session_lookup(?)`, [tokenHash]);
    const row = rows[0];
    return row ? { userName: row.user_name, role: row.role } : null;
  }

  async revoke(token: string): Promise<void> {
    this.cache.delete(hashToken(token));
    const gone = await this.#orm.em
      .getConnection()
      .execute<{ user_id: string; tenant_id: string }[]>(
        `delete from sessions where token_hash = ? returning user_id, tenant_id`,
        [hashToken(token)],
      );
    for (const row of gone) this.#access?.changed({ reason: 'logout', tenantId: row.tenant_id, userId: row.user_id });
  }

  /** Deletes expired sessions (and cuts their open sockets); returns how many. Run by the `sessions.purge` job. */
  async purgeExpired(): Promise<number> {
    const gone = await this.#orm.em
      .getConnection()
      .execute<{ user_id: string; tenant_id: string }[]>(
        `delete from sessions where expires_at <= now() returning user_id, tenant_id`,
      );
    const members = new Set(gone.map((row) => `${row.tenant_id} ${row.user_id}`));
    for (const member of members) {
      const [tenantId, userId] = member.split(' ');
      this.#access?.changed({ reason: 'session_expired', tenantId, userId });
    }
    return gone.length;
  }
}

function authOf(row: SessionRow): AuthContext {
  return {
    user: { id: row.user_id, name: row.user_name, email: row.user_email, locale: knownLocale(row.user_locale) },
    tenant: { id: row.tenant_id, name: row.tenant_name, slug: row.tenant_slug },
    role: row.role,
    sessionId: row.token_hash,
    via: 'session',
    scope: 'full',
    pictures: { avatarKey: row.avatar_key, logoKey: row.logo_key },
  };
}
