import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { TOKEN_SCOPES, type TokenGrant } from '#contracts/auth';
import { tenantOwned, userRef } from './tenant-owned.ts';

export { TOKEN_SCOPES };

/** A bearer token for integrations (PM, accounting, production) and wall screens; only its hash is kept. */
export const ApiTokenSchema = defineEntity({
  name: 'ApiToken',
  tableName: 'api_tokens',
  properties: {
    ...tenantOwned,
    name: p.string().length(100),
    tokenHash: p.string().length(64).unique(),
    prefix: p.string().length(12),
    scope: p.enum(TOKEN_SCOPES).default('full'),
    createdBy: () => userRef('created_by'),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    /** null: every family, as `scope` says (tokens made before grants keep working). */
    grants: p.json<TokenGrant[]>().nullable(),
    expiresAt: p.datetime().nullable(),
    /** Requests per minute. */
    rateLimit: p.integer().default(600),
  },
});
export type ApiToken = InferEntity<typeof ApiTokenSchema>;
