import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { OAUTH_PROVIDERS } from '#contracts/accounts';
import { tenantOwned } from './tenant-owned.ts';
import { UserSchema } from './user.entity.ts';

/**
 * An OAuth2 sign-in under way (server/accounts/oauth.ts): the PKCE verifier kept on the server, deleted when the
 * provider's redirect comes back (so a state works once) or when it expires.
 */
export const EmailAccountOAuthStateSchema = defineEntity({
  name: 'EmailAccountOAuthState',
  tableName: 'email_account_oauth_states',
  properties: {
    ...tenantOwned,
    userId: () => p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').updateRule('cascade'),
    provider: p.enum(OAUTH_PROVIDERS),
    /** Encrypted with SECRET_KEY; never leaves the server. */
    verifierEnc: p.text().hidden(),
    expiresAt: p.datetime(),
  },
  indexes: [{ name: 'email_account_oauth_states_expires_index', properties: ['tenantId', 'expiresAt'] }],
});
export type EmailAccountOAuthState = InferEntity<typeof EmailAccountOAuthStateSchema>;
