import { randomBytes } from 'node:crypto';
import type { TokenGrant, TokenScope } from '#contracts/auth';
import { DEFAULT_TOKEN_RATE_LIMIT, type ApiToken, type ApiTokenPatch, type NewApiToken } from '#contracts/team';
import type { MikroORM } from '../../db/orm.ts';
import { ApiTokenSchema } from '../../db/entities/api-token.entity.ts';
import type { MemberRole } from '../../db/entities/membership.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireWrite, type Actor } from '../tenancy.ts';
import { hashToken, type AuthContext, type LookupSource } from './sessions.service.ts';
import type { AccessPort } from './access.ts';
import { AuthCache } from './auth-cache.ts';
import { audit } from '../audit/record.ts';
import type { TokenRateLimiter } from './token-rate-limit.ts';

interface TokenRow {
  token_id: string;
  scope: TokenScope;
  user_id: string;
  user_name: string;
  user_email: string;
  tenant_id: string;
  tenant_name: string;
  tenant_slug: string;
  role: MemberRole;
  grants: TokenGrant[] | null;
  expires_at: Date | null;
  rate_limit: number;
}

export interface NewTokenInput {
  name: string;
  scope: TokenScope;
  grants?: TokenGrant[] | undefined;
  expiresAt?: string | null | undefined;
  rateLimit?: number | undefined;
}

// Last-used time is written at most this often per token.
const TOUCH_EVERY_MS = 60_000;

// With grants the token's scope says whether any of them writes (read tokens are refused every write at once).
const scopeOf = (input: { scope: TokenScope; grants?: TokenGrant[] | null | undefined }): TokenScope =>
  input.grants ? (input.grants.some((g) => g.access === 'write') ? 'full' : 'read') : input.scope;

/**
 * Bearer tokens for integrations: shown once at creation, stored as SHA-256, revocable, scoped, expiring. Resolved
 * tokens are kept a few seconds in `cache`, dropped on every node when one is revoked or changed or its creator's
 * access changes; an expiry is checked against the cached time on every request.
 */
export class ApiTokensService {
  readonly #orm: MikroORM;
  readonly #touched = new Map<string, number>();
  readonly #access: AccessPort | undefined;
  readonly #rate: TokenRateLimiter | undefined;
  readonly cache = new AuthCache<AuthContext>();
  /** Told of each resolution (the metrics module counts them). */
  onLookup: ((source: LookupSource) => void) | undefined;

  constructor(orm: MikroORM, access?: AccessPort, rate?: TokenRateLimiter) {
    this.#orm = orm;
    this.#access = access;
    this.#rate = rate;
  }

  async create(actor: Actor, input: NewTokenInput): Promise<NewApiToken> {
    requireWrite(actor);
    const token = `filo_${randomBytes(32).toString('base64url')}`;
    const scope = scopeOf(input);
    return inTenant(this.#orm, actor, async ({ em }) => {
      const row = em.create(ApiTokenSchema, {
        tenantId: actor.tenantId,
        name: input.name,
        scope,
        grants: input.grants ?? null,
        expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
        rateLimit: input.rateLimit ?? DEFAULT_TOKEN_RATE_LIMIT,
        tokenHash: hashToken(token),
        prefix: token.slice(0, 12),
        createdBy: actor.userId,
      });
      await em.flush();
      const dto = mapToken(row);
      await audit(
        { em, actor },
        {
          action: 'token.created',
          targetType: 'api_token',
          targetId: row.id,
          summary: `API token "${input.name}" created (${grantsSummary(dto)})`,
          after: auditView(dto),
        },
      );
      return { ...dto, token };
    });
  }

  /** Admins and owners see every token of the workspace; a member only their own. */
  list(actor: Actor): Promise<ApiToken[]> {
    return inTenant(this.#orm, actor, async ({ em }) =>
      (await em.find(ApiTokenSchema, { revokedAt: null, ...ownTokens(actor) }, { orderBy: { createdAt: 'desc' } })).map(
        mapToken,
      ),
    );
  }

  /** Renames a token or changes its grants, expiry or limit: the next request is judged by the new ones. */
  update(actor: Actor, id: string, patch: ApiTokenPatch): Promise<ApiToken> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em, afterCommit }) => {
      const row = await em.findOne(ApiTokenSchema, { id, revokedAt: null, ...ownTokens(actor) });
      if (!row) throw notFound('API token');
      const before = mapToken(row);
      if (patch.name !== undefined) row.name = patch.name;
      if (patch.grants !== undefined) {
        row.grants = patch.grants;
        row.scope = scopeOf({ scope: row.scope, grants: patch.grants });
      }
      if (patch.expiresAt !== undefined) row.expiresAt = patch.expiresAt ? new Date(patch.expiresAt) : null;
      if (patch.rateLimit !== undefined) row.rateLimit = patch.rateLimit;
      await em.flush();
      const userId = row.createdBy ?? undefined;
      afterCommit(() => this.#access?.changed({ reason: 'token_changed', tenantId: actor.tenantId, userId }));
      const after = mapToken(row);
      await audit(
        { em, actor },
        {
          action: 'token.updated',
          targetType: 'api_token',
          targetId: id,
          summary: `API token "${row.name}" changed (${grantsSummary(after)})`,
          before: auditView(before),
          after: auditView(after),
        },
      );
      return after;
    });
  }

  revoke(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em, afterCommit }) => {
      const row = await em.findOne(ApiTokenSchema, { id, revokedAt: null, ...ownTokens(actor) });
      if (!row) throw notFound('API token');
      row.revokedAt = new Date();
      await em.flush();
      await audit(
        { em, actor },
        { action: 'token.revoked', targetType: 'api_token', targetId: id, summary: `API token "${row.name}" revoked` },
      );
      // Sockets opened with the token act for its creator: theirs are re-checked (and this token's cut).
      const userId = row.createdBy ?? undefined;
      afterCommit(() => this.#access?.changed({ reason: 'token_revoked', tenantId: actor.tenantId, userId }));
    });
  }

  /** The token's member now (null once revoked, expired, or its creator left): open sockets re-check with it. */
  current(tenantId: string, tokenId: string): Promise<{ userName: string; role: MemberRole } | null> {
    const probe: Actor = { tenantId, userId: tokenId, userName: '', role: 'member', scope: 'read' };
    return inTenant(this.#orm, probe, async ({ em }) => {
      const rows = (await em.execute(
        `select u.name, m.role from api_tokens k
           join memberships m on m.tenant_id = k.tenant_id and m.user_id = k.created_by
           join users u on u.id = k.created_by
          where k.tenant_id = ? and k.id = ? and k.revoked_at is null
            and (k.expires_at is null or k.expires_at > now())`,
        [tenantId, tokenId],
      )) as { name: string; role: MemberRole }[];
      const row = rows[0];
      return row ? { userName: row.name, role: row.role } : null;
    });
  }

  /** The token's member and grants, or null (unknown, revoked or expired): for sockets. */
  async resolve(token: string): Promise<AuthContext | null> {
    const found = await this.lookup(token);
    return found === 'expired' ? null : found;
  }

  /** The token's member and grants (cached a few seconds, see the class), 'expired', or null (unknown or revoked). */
  async lookup(token: string): Promise<AuthContext | 'expired' | null> {
    if (!token.startsWith('filo_') || token.length > 100) return null;
    const tokenHash = hashToken(token);
    const hit = this.cache.get(tokenHash);
    if (hit) {
      this.onLookup?.('cache');
      await this.#touch(hit.value);
      return hit.value;
    }
    this.onLookup?.('database');
    const begun = this.cache.begin();
    const rows = await this.#orm.em
      .getConnection()
      .execute<TokenRow[]>(`select * from filo_token_lookup(?)`, [tokenHash]);
    const row = rows[0];
    if (!row) return null;
    const expiresAt = row.expires_at ? new Date(row.expires_at).getTime() : null;
    if (expiresAt !== null && expiresAt <= Date.now()) return 'expired';
    const auth = authOf(row);
    await this.#touch(auth);
    this.cache.set(tokenHash, { value: auth, tenantId: row.tenant_id, userId: row.user_id, expiresAt }, begun);
    return auth;
  }

  /** Last-used time, written at most every TOUCH_EVERY_MS per token. */
  async #touch(auth: AuthContext): Promise<void> {
    const last = this.#touched.get(auth.sessionId) ?? 0;
    if (Date.now() - last <= TOUCH_EVERY_MS) return;
    this.#touched.set(auth.sessionId, Date.now());
    const actor: Actor = {
      tenantId: auth.tenant.id,
      userId: auth.user.id,
      userName: auth.user.name,
      role: auth.role,
      scope: auth.scope,
    };
    await inTenant(this.#orm, actor, ({ em }) =>
      em.nativeUpdate(ApiTokenSchema, { id: auth.sessionId }, { lastUsedAt: new Date() }),
    );
  }

  /** Counts one request of the token: 429 `token_rate_limited` with Retry-After once over its limit. */
  async limit(auth: AuthContext): Promise<void> {
    await this.#rate?.hit(auth.sessionId, auth.rateLimit ?? DEFAULT_TOKEN_RATE_LIMIT);
  }

  close(): Promise<void> {
    return this.#rate?.close() ?? Promise.resolve();
  }
}

/** 401 `token_expired`: the token was valid and is no more (a new one is needed, not a retry). */
export const tokenExpired = () => new HttpError(401, 'token_expired', 'The API token has expired');

// A member's view of the workspace's tokens: those they created (another's is as unknown as a missing one).
const ownTokens = (actor: Actor) => (actor.role === 'member' ? { createdBy: actor.userId } : {});

const authOf = (row: TokenRow): AuthContext => ({
  user: { id: row.user_id, name: row.user_name, email: row.user_email, locale: null },
  tenant: { id: row.tenant_id, name: row.tenant_name, slug: row.tenant_slug },
  role: row.role,
  sessionId: row.token_id,
  via: 'token',
  scope: row.scope,
  ...(row.grants ? { grants: row.grants } : {}),
  rateLimit: row.rate_limit,
});

/** "crm:read, linked/invoice:write" or "all:full", for audit summaries. */
export const grantsSummary = (t: Pick<ApiToken, 'grants' | 'scope'>) =>
  t.grants ? t.grants.map((g) => `${g.family}${g.kind ? `/${g.kind}` : ''}:${g.access}`).join(', ') : `all:${t.scope}`;

const auditView = (t: ApiToken) => ({
  name: t.name,
  prefix: t.prefix,
  scope: t.scope,
  grants: grantsSummary(t),
  expiresAt: t.expiresAt,
  rateLimit: t.rateLimit,
});

function mapToken(row: {
  id: string;
  name: string;
  prefix: string;
  scope: TokenScope;
  grants?: TokenGrant[] | null;
  expiresAt?: Date | null;
  rateLimit: number;
  createdBy?: string | null;
  createdAt: Date;
  lastUsedAt?: Date | null;
}): ApiToken {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scope: row.scope,
    grants: row.grants ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    rateLimit: row.rateLimit,
    createdBy: row.createdBy ?? null,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
