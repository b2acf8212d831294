import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccountConnectError,
  IMAP_PASSWORD,
  openImap,
  SMTP_PASSWORD,
  verifySmtp,
  type AccountConnection,
  type ConnectDeps,
} from '../server/accounts/connect.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { SmtpTargetPolicy } from '../server/delivery/smtp-target.ts';
import { startDovecot, type Dovecot } from './support/dovecot.ts';

const secrets = new Secrets('connect-test-secret-key-of-enough-length');
const ALICE = { user: 'alice@example.test', password: 'right-horse-battery' };
let dovecot: Dovecot;
let smtp: { port: number; tokens: string[]; close: () => Promise<void> };
const deps = (allowed: string[] = ['127.0.0.1'], allowPlainAuth = true): ConnectDeps => ({
  secrets,
  targets: new SmtpTargetPolicy({ allowedHosts: allowed, allowPlainAuth }),
  log: pino({ level: 'silent' }),
});

function account(over: Partial<AccountConnection> & { imapPass?: string; smtpPass?: string } = {}): AccountConnection {
  const { imapPass = ALICE.password, smtpPass = 'smtp-secret', ...rest } = over;
  return {
    id: randomUUID(),
    tenantId: randomUUID(),
    email: ALICE.user,
    authMethod: 'password',
    provider: 'imap',
    imapHost: '127.0.0.1',
    imapPort: dovecot.port,
    imapSecurity: 'none',
    imapUser: ALICE.user,
    imapPasswordEnc: secrets.encrypt(imapPass, IMAP_PASSWORD),
    smtpHost: '127.0.0.1',
    smtpPort: smtp.port,
    smtpSecurity: 'none',
    smtpUser: 'smtp-alice',
    smtpPasswordEnc: secrets.encrypt(smtpPass, SMTP_PASSWORD),
    oauthAccessTokenEnc: null,
    oauthRefreshTokenEnc: null,
    oauthExpiresAt: null,
    ...rest,
  };
}

async function failure(p: Promise<unknown>): Promise<AccountConnectError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AccountConnectError);
  return err as AccountConnectError;
}

beforeAll(async () => {
  dovecot = await startDovecot([ALICE]);
  const tokens: string[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.method === 'XOAUTH2') {
        if (auth.accessToken) tokens.push(auth.accessToken);
        if (auth.username === 'smtp-alice' && auth.accessToken === 'good-token') return cb(null, { user: 'alice' });
        return cb(null, { data: { status: '401', schemes: 'bearer' } });
      }
      if (auth.username === 'smtp-alice' && auth.password === 'smtp-secret') return cb(null, { user: 'alice' });
      return cb(Object.assign(new Error('5.7.8 Alice, that is not your password'), { responseCode: 535 }));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  smtp = {
    port: (server.server.address() as AddressInfo).port,
    tokens,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});

afterAll(async () => {
  await smtp?.close();
  await dovecot?.stop();
});

describe('openImap', () => {
  it('logs in with the right password and reads INBOX', async () => {
    const client = await openImap(account(), deps());
    try {
      expect(client.usable).toBe(true);
      const status = await client.status('INBOX', { messages: true });
      expect(status).toMatchObject({ messages: 0 });
    } finally {
      await client.logout();
    }
  });

  it("answers a wrong password with kind 'auth' and Dovecot's own words", async () => {
    const err = await failure(openImap(account({ imapPass: 'wrong' }), deps()));
    expect(err.side).toBe('imap');
    expect(err.kind).toBe('auth');
    // Dovecot's tagged NO text, as the server said it.
    expect(err.serverMessage).toBe('Authentication failed.');
    // The password itself is nowhere in what the error says.
    expect(JSON.stringify({ m: err.message, s: err.serverMessage })).not.toContain('wrong');
  });

  it('refuses a private address the policy does not allow, without connecting', async () => {
    const before = dovecot.log();
    const policy = deps([]);
    const lookups: string[] = [];
    policy.targets.lookup = async (host) => {
      lookups.push(host);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    // a user of its own: Dovecot writes an earlier test's disconnect of alice to its log at its own pace
    const probe = 'refused-probe@example.test';
    const err = await failure(openImap(account({ imapHost: 'imap.internal.test', imapUser: probe }), policy));
    expect(err.kind).toBe('refused');
    expect(lookups).toEqual(['imap.internal.test']);
    const direct = await failure(openImap(account({ imapUser: probe }), deps([])));
    expect(direct.kind).toBe('refused');
    // Dovecot saw no connection for it, by name or by address
    expect(dovecot.log().slice(before.length)).not.toContain(probe);
  });

  it('never connects without TLS to a public server', async () => {
    const policy = deps([]);
    policy.targets.lookup = async () => [{ address: '93.184.216.34', family: 4 }];
    const err = await failure(openImap(account({ imapHost: 'imap.example.com' }), policy));
    expect(err.kind).toBe('tls');
  });

  it('answers a closed port as a network failure', async () => {
    const err = await failure(openImap(account({ imapPort: 1 }), deps()));
    expect(err.kind).toBe('network');
  });
});

describe('SMTP', () => {
  it('logs in with the password, and a wrong one gives the server words', async () => {
    await verifySmtp(account(), deps());
    const err = await failure(verifySmtp(account({ smtpPass: 'nope' }), deps()));
    expect(err.side).toBe('smtp');
    expect(err.kind).toBe('auth');
    expect(err.serverMessage).toContain('Alice, that is not your password');
  });

  it('sends no password in plain text unless the operator allows it for a local host', async () => {
    const err = await failure(verifySmtp(account(), deps(['127.0.0.1'], false)));
    expect(err.kind).toBe('tls');
  });

  it('authenticates with XOAUTH2 when the account signs in with OAuth2', async () => {
    const oauth = { accessToken: async () => 'good-token' };
    await verifySmtp(account({ authMethod: 'oauth2', smtpPasswordEnc: null }), { ...deps(), oauth });
    expect(smtp.tokens).toContain('good-token');
    const bad = { accessToken: async () => 'revoked-token' };
    const err = await failure(verifySmtp(account({ authMethod: 'oauth2' }), { ...deps(), oauth: bad }));
    expect(err.kind).toBe('auth');
  });

  it('refuses an OAuth2 account when no token source is configured', async () => {
    const err = await failure(verifySmtp(account({ authMethod: 'oauth2' }), deps()));
    expect(err.kind).toBe('auth');
  });
});
