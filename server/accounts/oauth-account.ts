import { randomBytes, randomUUID } from 'node:crypto';
import { ACCOUNT_PRESETS, type AccountProvider } from '#contracts/accounts';
import { EmailAccountSchema } from '../../db/entities/email-account.entity.ts';
import { MailboxSchema } from '../../db/entities/mailbox.entity.ts';
import type { Secrets } from '../crypto/secrets.ts';
import { HttpError } from '../http/errors.ts';
import type { UnitOfWork } from '../tenancy.ts';
import { mailboxAccess } from './account-view.ts';
import { OAUTH_ACCESS_TOKEN, OAUTH_REFRESH_TOKEN } from './connect.ts';

/** An account signed in with OAuth2 (the callback of server/accounts/oauth.ts). */
export interface OAuthGrant {
  provider: Exclude<AccountProvider, 'imap'>;
  email: string;
  displayName: string | null;
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date;
  scope: string | null;
}

/** The columns a grant sets on an account, new or signed in again: tokens encrypted, passwords dropped. */
export function oauthTokens(grant: OAuthGrant, secrets: Secrets) {
  return {
    authMethod: 'oauth2' as const,
    provider: grant.provider,
    oauthAccessTokenEnc: secrets.encrypt(grant.accessToken, OAUTH_ACCESS_TOKEN),
    oauthExpiresAt: grant.expiresAt,
    oauthScope: grant.scope,
    imapPasswordEnc: null,
    smtpPasswordEnc: null,
  };
}

/** A member's new OAuth2 account and its private mailbox, with the provider's hosts (not flushed). */
export function newOAuthAccount(
  uow: UnitOfWork,
  grant: OAuthGrant,
  tokens: ReturnType<typeof oauthTokens>,
  secrets: Secrets,
) {
  if (!grant.refreshToken)
    throw new HttpError(400, 'oauth_no_refresh_token', 'The provider gave no refresh token: sign in again');
  const { actor } = uow;
  const preset = ACCOUNT_PRESETS[grant.provider];
  const mailbox = uow.em.create(MailboxSchema, {
    tenantId: actor.tenantId,
    kind: 'account',
    name: (grant.displayName ?? grant.email).slice(0, 100),
    localPart: `acct-${randomBytes(4).toString('hex')}`,
    address: grant.email,
    createContacts: true,
    ...mailboxAccess('private', actor.userId, []),
  });
  const account = uow.em.create(EmailAccountSchema, {
    id: randomUUID(),
    tenantId: actor.tenantId,
    mailboxId: mailbox.id,
    ownerId: actor.userId,
    email: grant.email,
    displayName: grant.displayName,
    imapHost: preset.imap.host,
    imapPort: preset.imap.port,
    imapSecurity: preset.imap.security,
    imapUser: grant.email,
    smtpHost: preset.smtp.host,
    smtpPort: preset.smtp.port,
    smtpSecurity: preset.smtp.security,
    smtpUser: grant.email,
    providerSavesSent: preset.providerSavesSent,
    ...tokens,
    oauthRefreshTokenEnc: secrets.encrypt(grant.refreshToken, OAUTH_REFRESH_TOKEN),
  });
  return { account, mailbox };
}
