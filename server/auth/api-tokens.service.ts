import { randomBytes } from 'node:crypto';
import type { TokenScope } from '#contracts/auth';
import type { ApiToken, NewApiToken } from '#contracts/team';
import type { MikroORM } from '../../db/orm.ts';
import { ApiTokenSchema } from '../../db/entities/api-token.entity.ts';
import type { MemberRole } from '../../db/entities/membership.entity.ts';
import { notFound } from '../http/errors.ts';
import { inTenant, requireWrite, type Actor } from '../tenancy.ts';
import { hashToken, type AuthContext } from './sessions.service.ts';
import type { AccessPort } from './access.ts';
import { audit } from '../audit/record.ts';

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
}

// Last-used time is written at most this often per token.
const TOUCH_EVERY_MS = 60_000;

/** Bearer tokens for integrations: shown once at creation, stored as SHA-256, revocable. */
export class ApiTokensService {
  readonly #orm: MikroORM;
  readonly #touched = new Map<string, number>();
  readonly #access: AccessPort | undefined;

  constructor(orm: MikroORM, access?: AccessPort) {
    this.#orm = orm;
    this.#access = access;
  }

  async create(actor: Actor, input: { name: string; scope: TokenScope }): Promise<NewApiToken> {
    requireWrite(actor);
    const token = `filo_${randomBytes(32).toString('base64url')}`;
    return inTenant(this.#orm, actor, async ({ em }) => {
      const row = em.create(ApiTokenSchema, {
        tenantId: actor.tenantId,
        name: input.name,
        scope: input.scope,
        tokenHash: hashToken(token),
        prefix: token.slice(0, 12),
        createdBy: actor.userId,
      });
      await em.flush();
      await audit(
        { em, actor },
        {
          action: 'token.created',
          targetType: 'api_token',
          targetId: row.id,
          summary: `API token "${input.name}" created (${input.scope})`,
          after: { name: input.name, scope: input.scope, prefix: row.prefix },
        },
      );
      return { ...mapToken(row), token };
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

  /** The token's member now (null once revoked or its creator left): open sockets re-check their token with it. */
  current(tenantId: string, tokenId: string): Promise<{ userName: string; role: MemberRole } | null> {
    const probe: Actor = { tenantId, userId: tokenId, userName: '', role: 'member', scope: 'read' };
    return inTenant(this.#orm, probe, async ({ em }) => {
      const rows = (await em.execute(
        `select u.name, m.role from api_tokens k
           join memberships m on m.tenant_id = k.tenant_id and m.user_id = k.created_by
           join users u on u.id = k.created_by
          where k.tenant_id = ? and k.id = ? and k.revoked_at is null`,
        [tenantId, tokenId],
      )) as { name: string; role: MemberRole }[];
      const row = rows[0];
      return row ? { userName: row.name, role: row.role } : null;
    });
  }

  async resolve(token: string): Promise<AuthContext | null> {
    if (!token.startsWith('filo_') || token.length > 100) return null;
    const rows = await this.#orm.em
      .getConnection()
      .execute<TokenRow[]>(`select * from filo_token_lookup(?)`, [hashToken(token)]);
    const row = rows[0];
    if (!row) return null;
    const last = this.#touched.get(row.token_id) ?? 0;
    if (Date.now() - last > TOUCH_EVERY_MS) {
      this.#touched.set(row.token_id, Date.now());
      await inTenant(this.#orm, actorFromRow(row), ({ em }) =>
        em.nativeUpdate(ApiTokenSchema, { id: row.token_id }, { lastUsedAt: new Date() }),
      );
    }
    return {
      user: { id: row.user_id, name: row.user_name, email: row.user_email, locale: null },
      tenant: { id: row.tenant_id, name: row.tenant_name, slug: row.tenant_slug },
      role: row.role,
      sessionId: row.token_id,
      via: 'token',
      scope: row.scope,
    };
  }
}

// A member's view of the workspace's tokens: those they created (another's is as unknown as a missing one).
const ownTokens = (actor: Actor) => (actor.role === 'member' ? { createdBy: actor.userId } : {});

const actorFromRow = (row: TokenRow): Actor => ({
  tenantId: row.tenant_id,
  userId: row.user_id,
  userName: row.user_name,
  role: row.role,
  scope: row.scope,
});

function mapToken(row: {
  id: string;
  name: string;
  prefix: string;
  scope: TokenScope;
  createdBy?: string | null;
  createdAt: Date;
  lastUsedAt?: Date | null;
}): ApiToken {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scope: row.scope,
    createdBy: row.createdBy ?? null,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
