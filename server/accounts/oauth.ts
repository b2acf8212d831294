import { createHash, createHmac, hkdfSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { OAuthProvider } from '#contracts/accounts';
import type { MikroORM } from '../../db/orm.ts';
import { EmailAccountOAuthStateSchema } from '../../db/entities/email-account-oauth-state.entity.ts';
import type { OAuthClientConfig } from '../config.ts';
import type { Secrets } from '../crypto/secrets.ts';
import { HttpError } from '../http/errors.ts';
import type { Logger } from '../logger.ts';
import { inTenant, requireWrite, systemActor, type Actor } from '../tenancy.ts';
import type { AccountsService } from './accounts.service.ts';
import {
  AccountConnectError,
  OAUTH_ACCESS_TOKEN,
  OAUTH_REFRESH_TOKEN,
  type AccessTokenSource,
  type AccountConnection,
} from './connect.ts';
import type { AccountHealthService } from './health.ts';

const PKCE_VERIFIER = 'email_accounts.oauth_pkce_verifier';
/** How long a sign-in at the provider may take. */
const STATE_TTL_MS = 10 * 60_000;
/** A token expiring sooner than this is refreshed before use. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
const HTTP_TIMEOUT_MS = 15_000;

/** What each provider is asked for: the address (OpenID), a refresh token, and mail over IMAP and SMTP. */
const SCOPES: Record<OAuthProvider, string> = {
  google: 'openid email profile https://mail.google.com/',
  microsoft:
    'openid email profile offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send',
};
const EXTRA_PARAMS: Record<OAuthProvider, Record<string, string>> = {
  // Google gives a refresh token only with offline access, and again only when consent is asked again.
  google: { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' },
  microsoft: { prompt: 'select_account' },
};
const NAMES: Record<OAuthProvider, string> = { google: 'Google', microsoft: 'Microsoft' };

interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number | string;
  id_token?: string;
  scope?: string;
  error?: string;
  error_description?: string;
}

/** The token endpoint refused: `error` is the OAuth2 code (invalid_grant: the refresh token was revoked or expired). */
export class OAuthTokenError extends Error {
  override name = 'OAuthTokenError';
  readonly error: string;
  readonly status: number;

  constructor(status: number, error: string, description: string | undefined) {
    super(description ? `${error}: ${description}` : error);
    this.status = status;
    this.error = error;
  }
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** The claims of an id_token received straight from the token endpoint over TLS (OpenID Connect 3.1.3.7: no signature check needed). */
function idTokenClaims(idToken: string | undefined): Record<string, unknown> {
  const payload = idToken?.split('.')[1];
  if (!payload) return {};
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * OAuth2 sign-in of email accounts at Google and Microsoft (authorization code with PKCE and a signed, single-use
 * state), and the access tokens connect.ts uses: refreshed before they expire, one refresh at a time per account
 * (under the account row's lock, so two processes never spend a rotating refresh token twice). A refresh token the
 * provider refuses (invalid_grant) puts the account in error with the provider's words and tells its owner.
 */
export class AccountOAuth implements AccessTokenSource {
  readonly #orm: MikroORM;
  readonly #secrets: Secrets;
  readonly #stateKey: Buffer;
  readonly #publicUrl: string;
  readonly #clients: Partial<Record<OAuthProvider, OAuthClientConfig>>;
  readonly #accounts: AccountsService;
  readonly #health: AccountHealthService;
  readonly #log: Logger;
  readonly #refreshing = new Map<string, Promise<string>>();

  constructor(deps: {
    orm: MikroORM;
    secrets: Secrets;
    secretKey: string;
    publicUrl: string;
    clients: Partial<Record<OAuthProvider, OAuthClientConfig | undefined>>;
    accounts: AccountsService;
    health: AccountHealthService;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#secrets = deps.secrets;
    this.#stateKey = Buffer.from(hkdfSync('sha256', deps.secretKey, 'filo', 'email account oauth state v1', 32));
    this.#publicUrl = deps.publicUrl;
    this.#clients = Object.fromEntries(Object.entries(deps.clients).filter(([, c]) => c)) as Partial<
      Record<OAuthProvider, OAuthClientConfig>
    >;
    this.#accounts = deps.accounts;
    this.#health = deps.health;
    this.#log = deps.log;
  }

  /** Which providers the operator configured (the settings page shows their buttons). */
  configured(): Record<OAuthProvider, boolean> {
    return { google: Boolean(this.#clients.google), microsoft: Boolean(this.#clients.microsoft) };
  }

  get redirectUri(): string {
    return `${this.#publicUrl}/api/email-accounts/oauth/callback`;
  }

  #client(provider: OAuthProvider): OAuthClientConfig {
    const client = this.#clients[provider];
    if (!client)
      throw new HttpError(
        404,
        'oauth_not_configured',
        `Sign-in with ${NAMES[provider]} is not configured on this server`,
      );
    return client;
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#stateKey).update(payload).digest('base64url');
  }

  /** The provider's authorization address for this member: a state bound to them, and a PKCE challenge. */
  async start(actor: Actor, provider: OAuthProvider): Promise<string> {
    requireWrite(actor);
    const client = this.#client(provider);
    const verifier = b64url(randomBytes(32));
    const id = randomUUID();
    const expiresAt = new Date(Date.now() + STATE_TTL_MS);
    await inTenant(this.#orm, actor, async (uow) => {
      // Sign-ins never finished are forgotten here, in the tenant that started them.
      await uow.em.nativeDelete(EmailAccountOAuthStateSchema, { expiresAt: { $lt: new Date() } });
      uow.em.create(EmailAccountOAuthStateSchema, {
        id,
        tenantId: actor.tenantId,
        userId: actor.userId,
        provider,
        verifierEnc: this.#secrets.encrypt(verifier, PKCE_VERIFIER),
        expiresAt,
      });
      await uow.em.flush();
    });
    const payload = b64url(JSON.stringify({ i: id, t: actor.tenantId, u: actor.userId, e: expiresAt.getTime() }));
    const url = new URL(client.authUrl);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: this.redirectUri,
      scope: SCOPES[provider],
      state: `${payload}.${this.#sign(payload)}`,
      code_challenge: b64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
      ...EXTRA_PARAMS[provider],
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  /**
   * The provider's redirect back: the state must be ours, unexpired, this member's and unused (it is deleted here);
   * the code is exchanged with the PKCE verifier, the address read, and the account created or given new tokens.
   */
  async callback(
    actor: Actor,
    query: { code?: string; state?: string; error?: string },
  ): Promise<{ accountId: string }> {
    requireWrite(actor);
    const refused = () =>
      new HttpError(400, 'oauth_state_invalid', 'This sign-in link is not valid (any more): start again');
    const [payload, signature] = (query.state ?? '').split('.');
    if (!payload || !signature) throw refused();
    const expected = Buffer.from(this.#sign(payload));
    if (expected.length !== signature.length || !timingSafeEqual(expected, Buffer.from(signature))) throw refused();
    let state: { i: string; t: string; u: string; e: number };
    try {
      state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof state;
    } catch {
      throw refused();
    }
    if (state.t !== actor.tenantId || state.u !== actor.userId || !(state.e > Date.now())) throw refused();
    // Deleted whatever happens next: a state works once.
    const row = await inTenant(this.#orm, actor, async (uow) => {
      const found = await uow.em.findOne(EmailAccountOAuthStateSchema, {
        id: state.i,
        userId: actor.userId,
        expiresAt: { $gt: new Date() },
      });
      if (!found) return null;
      const deleted = await uow.em.nativeDelete(EmailAccountOAuthStateSchema, { id: found.id });
      return deleted === 1 ? found : null;
    });
    if (!row) throw refused();
    const provider = row.provider;
    if (query.error)
      throw new HttpError(
        400,
        'oauth_denied',
        `${NAMES[provider]} did not allow the sign-in (${query.error.slice(0, 100)})`,
      );
    if (!query.code) throw new HttpError(400, 'validation_failed', 'The sign-in came back without a code');
    const client = this.#client(provider);
    const tokens = await this.#tokenRequest(client, {
      grant_type: 'authorization_code',
      code: query.code,
      redirect_uri: this.redirectUri,
      code_verifier: this.#secrets.decrypt(row.verifierEnc, PKCE_VERIFIER),
    }).catch((err: unknown) => {
      if (err instanceof OAuthTokenError)
        throw new HttpError(400, 'oauth_exchange_failed', `${NAMES[provider]} refused the sign-in: ${err.message}`);
      throw err;
    });
    if (!tokens.access_token)
      throw new HttpError(502, 'oauth_exchange_failed', `${NAMES[provider]} gave no access token`);
    const claims = idTokenClaims(tokens.id_token);
    let email = typeof claims.email === 'string' ? claims.email : undefined;
    if (!email && provider === 'microsoft' && typeof claims.preferred_username === 'string')
      email = claims.preferred_username;
    let name = typeof claims.name === 'string' ? claims.name : null;
    if (!email) {
      const info = await this.#userinfo(client, tokens.access_token);
      email = typeof info.email === 'string' ? info.email : undefined;
      name ??= typeof info.name === 'string' ? info.name : null;
    }
    if (!email || !EMAIL.test(email) || email.length > 320)
      throw new HttpError(400, 'oauth_no_address', `${NAMES[provider]} did not say which address signed in`);
    const account = await this.#accounts.saveOAuth(actor, {
      provider,
      email: email.toLowerCase(),
      displayName: name ? name.slice(0, 100) : null,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token ?? null,
      expiresAt: new Date(Date.now() + Number(tokens.expires_in ?? 3600) * 1000),
      scope: tokens.scope ?? null,
    });
    return { accountId: account.id };
  }

  async #tokenRequest(client: OAuthClientConfig, params: Record<string, string>): Promise<TokenAnswer> {
    const res = await fetch(client.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ ...params, client_id: client.clientId, client_secret: client.clientSecret }),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      redirect: 'error',
    });
    // A non-JSON answer (a proxy's error page) is read as no answer.
    const answer = ((await res.json().catch(() => null)) ?? {}) as TokenAnswer;
    if (!res.ok || answer.error)
      throw new OAuthTokenError(res.status, answer.error ?? `http_${res.status}`, answer.error_description);
    return answer;
  }

  async #userinfo(client: OAuthClientConfig, accessToken: string): Promise<Record<string, unknown>> {
    const res = await fetch(client.userinfoUrl, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      redirect: 'error',
    });
    if (!res.ok) return {};
    return ((await res.json().catch(() => ({}))) ?? {}) as Record<string, unknown>;
  }

  /** A valid access token for the account: the stored one, or (expiring within 5 minutes) a refreshed one. */
  async accessToken(account: AccountConnection): Promise<string> {
    const fresh = (expiresAt: Date | null | undefined) =>
      expiresAt && new Date(expiresAt).getTime() - Date.now() > REFRESH_MARGIN_MS;
    if (account.oauthAccessTokenEnc && fresh(account.oauthExpiresAt))
      return this.#secrets.decrypt(account.oauthAccessTokenEnc, OAUTH_ACCESS_TOKEN);
    // One refresh at a time per account in this process; the row lock serialises processes.
    const running = this.#refreshing.get(account.id);
    if (running) return running;
    const refresh = this.#refresh(account.tenantId, account.id).finally(() => this.#refreshing.delete(account.id));
    this.#refreshing.set(account.id, refresh);
    return refresh;
  }

  async #refresh(tenantId: string, accountId: string): Promise<string> {
    let failure: { message: string } | null = null;
    const token = await inTenant(this.#orm, systemActor(tenantId), async (uow) => {
      const [row] = (await uow.em.execute(
        `select provider, oauth_access_token_enc, oauth_refresh_token_enc, oauth_expires_at
           from email_accounts where id = ? for update`,
        [accountId],
      )) as {
        provider: string;
        oauth_access_token_enc: string | null;
        oauth_refresh_token_enc: string | null;
        oauth_expires_at: Date | null;
      }[];
      if (!row) throw new AccountConnectError('imap', 'auth', 'The account is gone');
      // Another process may have refreshed it meanwhile.
      if (
        row.oauth_access_token_enc &&
        row.oauth_expires_at &&
        new Date(row.oauth_expires_at).getTime() - Date.now() > REFRESH_MARGIN_MS
      )
        return this.#secrets.decrypt(row.oauth_access_token_enc, OAUTH_ACCESS_TOKEN);
      const provider = row.provider as OAuthProvider;
      const client = this.#clients[provider];
      if (!client)
        throw new AccountConnectError('imap', 'auth', `Sign-in with ${NAMES[provider] ?? provider} is not configured`);
      if (!row.oauth_refresh_token_enc) {
        failure = { message: `${NAMES[provider]} sign-in has no refresh token: connect the account again` };
        return null;
      }
      let answer: TokenAnswer;
      try {
        answer = await this.#tokenRequest(client, {
          grant_type: 'refresh_token',
          refresh_token: this.#secrets.decrypt(row.oauth_refresh_token_enc, OAUTH_REFRESH_TOKEN),
        });
      } catch (err) {
        if (err instanceof OAuthTokenError && err.status >= 400 && err.status < 500) {
          failure = { message: `${NAMES[provider]} refused the sign-in (${err.message}): connect the account again` };
          return null;
        }
        this.#log.warn({ accountId, code: (err as { code?: string }).code }, 'OAuth2 token refresh failed');
        throw new AccountConnectError(
          'imap',
          'network',
          `${NAMES[provider]} could not be reached to renew the sign-in`,
        );
      }
      if (!answer.access_token)
        throw new AccountConnectError('imap', 'auth', `${NAMES[provider]} gave no access token`);
      const expiresAt = new Date(Date.now() + Number(answer.expires_in ?? 3600) * 1000);
      // A raw update: a token renewal is not an edit (no version bump that would refuse the owner's next change).
      await uow.em.execute(
        `update email_accounts set oauth_access_token_enc = ?, oauth_expires_at = ?,
            oauth_refresh_token_enc = coalesce(?, oauth_refresh_token_enc) where id = ?`,
        [
          this.#secrets.encrypt(answer.access_token, OAUTH_ACCESS_TOKEN),
          expiresAt,
          answer.refresh_token ? this.#secrets.encrypt(answer.refresh_token, OAUTH_REFRESH_TOKEN) : null,
          accountId,
        ],
      );
      return answer.access_token;
    });
    if (token !== null) return token;
    const message = (failure as { message: string } | null)?.message ?? 'The sign-in was refused';
    await this.#health.setHealth(tenantId, accountId, { status: 'error', lastError: message, authFailed: true });
    throw new AccountConnectError('imap', 'auth', message);
  }
}
