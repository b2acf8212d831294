import { ImapFlow } from 'imapflow';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { EmailAccount } from '../../db/entities/email-account.entity.ts';
import type { Secrets } from '../crypto/secrets.ts';
import { SmtpTargetRefused, type SmtpTarget, type SmtpTargetPolicy } from '../delivery/smtp-target.ts';
import type { Logger } from '../logger.ts';

/** Purposes of the account secrets (bound to their column: a value cannot be moved to another one). */
export const IMAP_PASSWORD = 'email_accounts.imap_password';
export const SMTP_PASSWORD = 'email_accounts.smtp_password';
export const OAUTH_ACCESS_TOKEN = 'email_accounts.oauth_access_token';
export const OAUTH_REFRESH_TOKEN = 'email_accounts.oauth_refresh_token';

/** The fields of an account that say how to reach it (a saved account, or settings being tested before saving). */
export type AccountConnection = Pick<
  EmailAccount,
  | 'id'
  | 'tenantId'
  | 'email'
  | 'authMethod'
  | 'provider'
  | 'imapHost'
  | 'imapPort'
  | 'imapSecurity'
  | 'imapUser'
  | 'imapPasswordEnc'
  | 'smtpHost'
  | 'smtpPort'
  | 'smtpSecurity'
  | 'smtpUser'
  | 'smtpPasswordEnc'
  | 'oauthAccessTokenEnc'
  | 'oauthRefreshTokenEnc'
  | 'oauthExpiresAt'
>;

/** Gives a valid OAuth2 access token for an account, refreshing it first when it expires soon (server/accounts/oauth.ts). */
export interface AccessTokenSource {
  accessToken(account: AccountConnection): Promise<string>;
}

export type Credentials = { user: string; pass: string } | { user: string; accessToken: string };

export type ConnectSide = 'imap' | 'smtp';
export type ConnectFailure = 'auth' | 'tls' | 'network' | 'refused';

/** Why Filo could not reach an account: `serverMessage` is the server's own words (or a plain sentence of ours). */
export class AccountConnectError extends Error {
  override name = 'AccountConnectError';
  readonly side: ConnectSide;
  readonly kind: ConnectFailure;
  readonly serverMessage: string;

  constructor(side: ConnectSide, kind: ConnectFailure, serverMessage: string, opts?: { cause?: unknown }) {
    super(`${side.toUpperCase()} ${kind}: ${serverMessage}`, opts);
    this.side = side;
    this.kind = kind;
    this.serverMessage = serverMessage;
  }
}

export interface ConnectDeps {
  secrets: Secrets;
  targets: SmtpTargetPolicy;
  log: Logger;
  /** Needed for OAuth2 accounts only. */
  oauth?: AccessTokenSource;
}

const TIMEOUTS = { connectionTimeout: 20_000, greetingTimeout: 15_000, socketTimeout: 5 * 60_000 };

async function credentials(
  side: ConnectSide,
  account: AccountConnection,
  secrets: Secrets,
  oauth: AccessTokenSource | undefined,
): Promise<Credentials> {
  const user = side === 'imap' ? account.imapUser : account.smtpUser;
  if (account.authMethod === 'oauth2') {
    if (!oauth) throw new AccountConnectError(side, 'auth', 'OAuth2 sign-in is not available on this server');
    try {
      return { user, accessToken: await oauth.accessToken(account) };
    } catch (err) {
      // The token source does not know which side asked.
      if (err instanceof AccountConnectError && err.side !== side)
        throw new AccountConnectError(side, err.kind, err.serverMessage, { cause: err });
      throw err;
    }
  }
  const stored = side === 'imap' ? account.imapPasswordEnc : account.smtpPasswordEnc;
  if (!stored) throw new AccountConnectError(side, 'auth', 'No password is stored for this account');
  return { user, pass: secrets.decrypt(stored, side === 'imap' ? IMAP_PASSWORD : SMTP_PASSWORD) };
}

/** `{ user, pass }` or `{ user, accessToken }` (refreshed when it expires within 5 minutes) for the IMAP login. */
export function imapCredentials(
  account: AccountConnection,
  secrets: Secrets,
  oauth?: AccessTokenSource,
): Promise<Credentials> {
  return credentials('imap', account, secrets, oauth);
}

/** The same for the SMTP side (its own user and password). */
export function smtpCredentials(
  account: AccountConnection,
  secrets: Secrets,
  oauth?: AccessTokenSource,
): Promise<Credentials> {
  return credentials('smtp', account, secrets, oauth);
}

/** The checked address of a user-given host; plain connections only to a local host the operator allowed. */
async function target(
  side: ConnectSide,
  host: string,
  security: EmailAccount['imapSecurity'],
  targets: SmtpTargetPolicy,
): Promise<SmtpTarget> {
  let checked: SmtpTarget;
  try {
    checked = await targets.resolve(host);
  } catch (err) {
    if (err instanceof SmtpTargetRefused)
      throw new AccountConnectError(
        side,
        'refused',
        'This server cannot be used: give the name of a public mail server',
        {
          cause: err,
        },
      );
    throw err;
  }
  if (security === 'none' && !checked.local)
    throw new AccountConnectError(side, 'tls', 'A public server is reached only over TLS (choose TLS or STARTTLS)');
  return checked;
}

const TLS_CODES = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|EPROTO$|ETLS$)/;

/** Maps what imapflow or nodemailer threw to the account's error: the server's words when it answered. */
export function connectError(side: ConnectSide, err: unknown): AccountConnectError {
  if (err instanceof AccountConnectError) return err;
  const e = (err ?? {}) as {
    code?: string;
    message?: string;
    response?: unknown;
    responseText?: string;
    responseCode?: number;
    authenticationFailed?: boolean;
  };
  const code = String(e.code ?? '');
  const serverWords =
    (typeof e.responseText === 'string' && e.responseText) || (typeof e.response === 'string' && e.response) || '';
  if (side === 'imap' && e.authenticationFailed)
    return new AccountConnectError(side, 'auth', serverWords || e.message || 'Authentication failed', { cause: err });
  if (side === 'smtp' && (code === 'EAUTH' || e.responseCode === 535 || e.responseCode === 534))
    return new AccountConnectError(side, 'auth', serverWords || e.message || 'Authentication failed', { cause: err });
  if (TLS_CODES.test(code) || /STARTTLS|certificate|TLS/i.test(e.message ?? ''))
    return new AccountConnectError(side, 'tls', serverWords || e.message || 'TLS failed', { cause: err });
  if (typeof e.responseCode === 'number' && serverWords)
    return new AccountConnectError(side, 'refused', serverWords, { cause: err });
  const reach: Record<string, string> = {
    ECONNREFUSED: 'The server refused the connection (is the port right?)',
    ETIMEDOUT: 'The server did not answer in time',
    ENOTFOUND: 'The server name does not resolve',
    ECONNRESET: 'The server closed the connection',
  };
  return new AccountConnectError(
    side,
    'network',
    reach[code] ?? (serverWords || e.message || 'Could not reach the server'),
    {
      cause: err,
    },
  );
}

/**
 * A connected, logged-in ImapFlow to the account's IMAP server at the address the policy checked (TLS names the
 * host it was given). imapflow's own logger is off: its debug lines could carry what the server echoes back.
 */
export async function openImap(
  account: AccountConnection,
  deps: ConnectDeps,
  opts: { idleDelayMs?: number } = {},
): Promise<ImapFlow> {
  const checked = await target('imap', account.imapHost, account.imapSecurity, deps.targets);
  const auth = await imapCredentials(account, deps.secrets, deps.oauth);
  const client = new ImapFlow({
    host: checked.address,
    ...(checked.servername ? { servername: checked.servername } : {}),
    port: account.imapPort,
    secure: account.imapSecurity === 'tls',
    ...(account.imapSecurity === 'starttls' ? { doSTARTTLS: true } : {}),
    ...(account.imapSecurity === 'none' ? { doSTARTTLS: false } : {}),
    auth,
    logger: false,
    ...TIMEOUTS,
    ...(opts.idleDelayMs !== undefined ? { autoIdleDelay: opts.idleDelayMs } : {}),
    // IDLE is re-issued before servers drop it (RFC 2177: 29 minutes; providers close idle sockets sooner).
    maxIdleTime: 4 * 60_000,
  });
  // A connection error after connect() arrives as an event: without a listener it would crash the process.
  client.on('error', (err: unknown) =>
    deps.log.warn({ accountId: account.id, code: (err as { code?: string }).code }, 'IMAP connection error'),
  );
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw connectError('imap', err);
  }
  return client;
}

/** nodemailer options for the account's SMTP server (TLS rules as server/delivery/mailer.ts has them). */
export async function smtpOptions(account: AccountConnection, deps: ConnectDeps): Promise<SMTPTransport.Options> {
  const checked = await target('smtp', account.smtpHost, account.smtpSecurity, deps.targets);
  const creds = await smtpCredentials(account, deps.secrets, deps.oauth);
  const secure = account.smtpSecurity === 'tls';
  // Credentials go only over TLS, unless the operator allows plain AUTH to a listed local relay.
  const plainOk = account.smtpSecurity === 'none' && checked.local && deps.targets.allowPlainAuth;
  if (account.smtpSecurity === 'none' && !plainOk)
    throw new AccountConnectError('smtp', 'tls', 'A password goes to an SMTP server only over TLS');
  return {
    host: checked.address,
    ...(checked.servername ? { servername: checked.servername } : {}),
    port: account.smtpPort,
    secure,
    ...(account.smtpSecurity === 'starttls' ? { requireTLS: true } : {}),
    ...(account.smtpSecurity === 'none' ? { ignoreTLS: true } : {}),
    auth:
      'accessToken' in creds
        ? { type: 'OAuth2', user: creds.user, accessToken: creds.accessToken }
        : { user: creds.user, pass: creds.pass },
    logger: false,
    debug: false,
    connectionTimeout: TIMEOUTS.connectionTimeout,
    greetingTimeout: TIMEOUTS.greetingTimeout,
    socketTimeout: 60_000,
  };
}

/** A nodemailer transport to the account's SMTP server with its own login (password or XOAUTH2). Close it after use. */
export async function smtpTransport(
  account: AccountConnection,
  deps: ConnectDeps,
): Promise<Transporter<SMTPTransport.SentMessageInfo>> {
  return nodemailer.createTransport(await smtpOptions(account, deps));
}

/** Connects and logs in to the SMTP side without sending anything; throws AccountConnectError. */
export async function verifySmtp(account: AccountConnection, deps: ConnectDeps): Promise<void> {
  const transport = await smtpTransport(account, deps);
  try {
    await transport.verify();
  } catch (err) {
    throw connectError('smtp', err);
  } finally {
    transport.close();
  }
}

/** Logs in to the IMAP side and reads INBOX's status; throws AccountConnectError. */
export async function verifyImap(account: AccountConnection, deps: ConnectDeps): Promise<void> {
  const client = await openImap(account, deps);
  try {
    await client.status('INBOX', { messages: true });
  } catch (err) {
    throw connectError('imap', err);
  } finally {
    await client.logout().catch(() => client.close());
  }
}
