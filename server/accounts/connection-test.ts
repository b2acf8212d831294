import { randomUUID } from 'node:crypto';
import type { AccountTestInput, AccountTestResult, ConnectionCheck } from '#contracts/accounts';
import type { Secrets } from '../crypto/secrets.ts';
import { HttpError } from '../http/errors.ts';
import type { Logger } from '../logger.ts';
import type { Actor } from '../tenancy.ts';
import { settingsOf, type Side } from './account-view.ts';
import {
  AccountConnectError,
  IMAP_PASSWORD,
  SMTP_PASSWORD,
  verifyImap,
  verifySmtp,
  type AccountConnection,
  type ConnectDeps,
} from './connect.ts';

/** Settings typed into the form, not saved: a connection to try (the password encrypted like a stored one). */
export function adHocConnection(
  actor: Actor,
  input: Exclude<AccountTestInput, { accountId: string }>,
  secrets: Secrets,
): AccountConnection {
  const imap = settingsOf('imap', input.provider, input.email, input.imap);
  const smtp = settingsOf('smtp', input.provider, input.email, input.smtp);
  if (!input.imap.password)
    throw new HttpError(400, 'validation_failed', 'The IMAP password is missing', { 'imap.password': 'is required' });
  return {
    id: randomUUID(),
    tenantId: actor.tenantId,
    email: input.email,
    provider: input.provider,
    authMethod: 'password',
    imapHost: imap.host,
    imapPort: imap.port,
    imapSecurity: imap.security,
    imapUser: imap.user,
    imapPasswordEnc: secrets.encrypt(input.imap.password, IMAP_PASSWORD),
    smtpHost: smtp.host,
    smtpPort: smtp.port,
    smtpSecurity: smtp.security,
    smtpUser: smtp.user,
    smtpPasswordEnc: secrets.encrypt(input.smtp.password ?? input.imap.password, SMTP_PASSWORD),
    oauthAccessTokenEnc: null,
    oauthRefreshTokenEnc: null,
    oauthExpiresAt: null,
  };
}

/** Both sides at once; each answers `ok`, or how it failed in the server's own words (a bare network error: ours). */
export async function testConnection(
  connection: AccountConnection,
  deps: ConnectDeps,
  log: Logger,
): Promise<AccountTestResult> {
  const check = async (side: Side, run: () => Promise<void>): Promise<ConnectionCheck> => {
    try {
      await run();
      return { ok: true, kind: null, message: null };
    } catch (err) {
      if (!(err instanceof AccountConnectError)) {
        log.warn({ side, code: (err as { code?: string }).code }, 'account test failed unexpectedly');
        return { ok: false, kind: 'network', message: 'Could not reach the server' };
      }
      return { ok: false, kind: err.kind, message: err.serverMessage };
    }
  };
  const [imap, smtp] = await Promise.all([
    check('imap', () => verifyImap(connection, deps)),
    check('smtp', () => verifySmtp(connection, deps)),
  ]);
  return { imap, smtp };
}
