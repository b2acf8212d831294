import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmailAccountView } from '#contracts/accounts';
import {
  AccountConnectError,
  OAUTH_ACCESS_TOKEN,
  OAUTH_REFRESH_TOKEN,
  verifySmtp,
  type AccountConnection,
} from '../server/accounts/connect.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import {
  apiClient,
  createTestDatabase,
  login,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

/**
 * OAuth2 sign-in of an email account against a local server speaking the token endpoint's protocol (RFC 6749, PKCE
 * RFC 7636): the flow stores encrypted tokens, a bad or reused state is refused, an expiring access token is
 * refreshed before use (and used for SMTP XOAUTH2), a revoked refresh token puts the account in error.
 */
const CLIENT = { id: 'filo-test-client', secret: 'filo-test-client-secret' };
const provider = {
  /** Codes the "user" approved, with the PKCE challenge of the sign-in they belong to. */
  codes: new Map<string, string>(),
  revoked: new Set<string>(),
  /** Access tokens issued and still good (what the SMTP server accepts). */
  valid: new Set<string>(),
  requests: [] as Record<string, string>[],
  issued: 0,
  email: 'sara.rossi@gmail.com',
};
let tokenServer: Server;
let tokenUrl = '';
let smtp: { port: number; tokens: string[]; close: () => Promise<void> };
let filo: TestFilo;
let db: { url: string; drop(): Promise<void> };
let sara: ApiClient;
let luca: ApiClient;

const idToken = (claims: Record<string, unknown>) =>
  ['{"alg":"RS256"}', JSON.stringify(claims), 'signature'].map((p) => Buffer.from(p).toString('base64url')).join('.');

async function sql<T>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** A GET that does not follow redirects: the 302 and where it points (or the error's code). */
async function navigate(who: ApiClient, path: string): Promise<{ status: number; location: string; code?: string }> {
  const res = await fetch(`${filo.baseUrl}${path}`, { headers: { cookie: who.cookie }, redirect: 'manual' });
  const code = res.status >= 400 ? ((await res.json()) as { error: { code: string } }).error.code : undefined;
  return { status: res.status, location: res.headers.get('location') ?? '', ...(code ? { code } : {}) };
}

const REFUSED = { status: 400, location: '', code: 'oauth_state_invalid' };

/** Starts a sign-in as `who`: the state and PKCE challenge Filo sent the browser off with. */
async function start(who: ApiClient): Promise<{ state: string; challenge: string; url: URL }> {
  const { status, location } = await navigate(who, '/api/email-accounts/oauth/google/start');
  expect(status).toBe(302);
  const url = new URL(location);
  return { state: url.searchParams.get('state')!, challenge: url.searchParams.get('code_challenge')!, url };
}

/** The account as connect.ts takes it, read as the database's owner. */
async function connectionOf(id: string): Promise<AccountConnection> {
  const [r] = await sql<Record<string, unknown>>(`select * from email_accounts where id = $1`, [id]);
  return {
    id: r!.id,
    tenantId: r!.tenant_id,
    email: r!.email,
    authMethod: r!.auth_method,
    provider: r!.provider,
    imapHost: r!.imap_host,
    imapPort: r!.imap_port,
    imapSecurity: r!.imap_security,
    imapUser: r!.imap_user,
    imapPasswordEnc: r!.imap_password_enc,
    smtpHost: r!.smtp_host,
    smtpPort: r!.smtp_port,
    smtpSecurity: r!.smtp_security,
    smtpUser: r!.smtp_user,
    smtpPasswordEnc: r!.smtp_password_enc,
    oauthAccessTokenEnc: r!.oauth_access_token_enc,
    oauthRefreshTokenEnc: r!.oauth_refresh_token_enc,
    oauthExpiresAt: r!.oauth_expires_at,
  } as AccountConnection;
}

beforeAll(async () => {
  tokenServer = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url !== '/token' || req.method !== 'POST') return answer(404, { error: 'not_found' });
      const form = Object.fromEntries(new URLSearchParams(raw));
      provider.requests.push(form);
      if (form.client_id !== CLIENT.id || form.client_secret !== CLIENT.secret)
        return answer(401, { error: 'invalid_client' });
      provider.issued += 1;
      const n = provider.issued;
      if (form.grant_type === 'authorization_code') {
        const challenge = provider.codes.get(form.code ?? '');
        provider.codes.delete(form.code ?? '');
        const expected = createHash('sha256')
          .update(form.code_verifier ?? '')
          .digest('base64url');
        if (!challenge || challenge !== expected) return answer(400, { error: 'invalid_grant' });
        provider.valid.add(`access-${n}`);
        return answer(200, {
          access_token: `access-${n}`,
          refresh_token: `refresh-${n}`,
          expires_in: 3599,
          scope: 'openid email https://mail.google.com/',
          token_type: 'Bearer',
          id_token: idToken({ email: provider.email, email_verified: true, name: 'Sara Rossi' }),
        });
      }
      if (form.grant_type === 'refresh_token') {
        if (provider.revoked.has(form.refresh_token ?? ''))
          return answer(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
        provider.valid.add(`access-${n}`);
        return answer(200, { access_token: `access-${n}`, expires_in: 3599, token_type: 'Bearer' });
      }
      return answer(400, { error: 'unsupported_grant_type' });
    });
  });
  await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
  tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}`;
  const tokens: string[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['XOAUTH2'],
    logger: false,
    onAuth(auth, _session, cb) {
      tokens.push(auth.accessToken ?? '');
      if (auth.username === provider.email && provider.valid.has(auth.accessToken ?? ''))
        return cb(null, { user: 'sara' });
      return cb(null, { data: { status: '401', schemes: 'bearer' } });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  smtp = {
    port: (server.server.address() as AddressInfo).port,
    tokens,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const created = await createTestDatabase();
  db = created;
  filo = await startTestFilo({
    DATABASE_URL: created.url,
    SMTP_ALLOWED_HOSTS: '127.0.0.1',
    SMTP_ALLOW_PLAIN_AUTH: '1',
    GOOGLE_OAUTH_CLIENT_ID: CLIENT.id,
    GOOGLE_OAUTH_CLIENT_SECRET: CLIENT.secret,
    GOOGLE_OAUTH_AUTH_URL: `${tokenUrl}/authorize`,
    GOOGLE_OAUTH_TOKEN_URL: `${tokenUrl}/token`,
    GOOGLE_OAUTH_USERINFO_URL: `${tokenUrl}/userinfo`,
  });
  // The Google preset names Google's hosts: answer them with a public address instead of asking DNS.
  const policy = filo.services.mailer.smtpTargets;
  const system = policy.lookup;
  policy.lookup = async (host) => (/gmail\.com$/.test(host) ? [{ address: '142.250.180.1', family: 4 }] : system(host));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }));
});

afterAll(async () => {
  await filo?.close();
  await db?.drop();
  await smtp?.close();
  await new Promise((resolve) => tokenServer?.close(resolve));
});

describe('OAuth2 sign-in', () => {
  let account: EmailAccountView;

  it('offers the providers that are configured', async () => {
    expect(await sara.json('GET', '/api/email-accounts/oauth/options')).toEqual({
      oauth: { google: true, microsoft: false },
    });
    const microsoft = await sara.call('GET', '/api/email-accounts/oauth/microsoft/start');
    expect(microsoft.status).toBe(404);
    expect(((await microsoft.json()) as { error: { code: string } }).error.code).toBe('oauth_not_configured');
  });

  it('sends the browser to the provider with a signed state and a PKCE challenge', async () => {
    const { url, state, challenge } = await start(sara);
    expect(`${url.origin}${url.pathname}`).toBe(`${tokenUrl}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: CLIENT.id,
      redirect_uri: `${filo.config.publicUrl}/api/email-accounts/oauth/callback`,
      code_challenge_method: 'S256',
      access_type: 'offline',
    });
    expect(url.searchParams.get('scope')).toContain('https://mail.google.com/');
    expect(state).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(challenge).toMatch(/^[\w-]{43}$/);
  });

  it('exchanges the code, stores the tokens encrypted and lands on the settings page', async () => {
    const { state, challenge } = await start(sara);
    provider.codes.set('code-sara', challenge);
    const back = await navigate(sara, `/api/email-accounts/oauth/callback?code=code-sara&state=${state}`);
    expect(back.status).toBe(302);
    const id = /^\/settings\/email-accounts\?connected=([0-9a-f-]{36})$/.exec(back.location)?.[1];
    expect(id, back.location).toBeDefined();
    account = await sara.json('GET', `/api/email-accounts/${id}`);
    expect(account).toMatchObject({
      email: provider.email,
      displayName: 'Sara Rossi',
      provider: 'google',
      authMethod: 'oauth2',
      own: true,
      visibility: 'private',
      imap: { host: 'imap.gmail.com', port: 993, security: 'tls', user: provider.email, hasPassword: false },
      smtp: { host: 'smtp.gmail.com', port: 465, security: 'tls', user: provider.email, hasPassword: false },
      oauth: { connected: true },
      providerSavesSent: true,
    });
    expect(JSON.stringify(account)).not.toMatch(/access-1|refresh-1/);
    const exchange = provider.requests.at(-1)!;
    expect(exchange).toMatchObject({ grant_type: 'authorization_code', code: 'code-sara' });
    const [row] = await sql<{
      oauth_access_token_enc: string;
      oauth_refresh_token_enc: string;
      oauth_expires_at: Date;
    }>(`select oauth_access_token_enc, oauth_refresh_token_enc, oauth_expires_at from email_accounts where id = $1`, [
      id,
    ]);
    expect(row!.oauth_access_token_enc).not.toContain('access-');
    const secrets = new Secrets(filo.config.secretKey);
    expect(secrets.decrypt(row!.oauth_access_token_enc, OAUTH_ACCESS_TOKEN)).toBe('access-1');
    expect(secrets.decrypt(row!.oauth_refresh_token_enc, OAUTH_REFRESH_TOKEN)).toBe('refresh-1');
    expect(new Date(row!.oauth_expires_at).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it('refuses a reused, forged, or another member’s state, and writes nothing', async () => {
    const before = provider.requests.length;
    const { state, challenge } = await start(sara);
    provider.codes.set('code-2', challenge);
    // Luca cannot finish Sara's sign-in.
    const stolen = await navigate(luca, `/api/email-accounts/oauth/callback?code=code-2&state=${state}`);
    expect(stolen).toEqual(REFUSED);
    // A forged signature.
    const [payload] = state.split('.');
    const forged = await navigate(sara, `/api/email-accounts/oauth/callback?code=code-2&state=${payload}.AAAA`);
    expect(forged).toEqual(REFUSED);
    // Used once (the same address: the account is given the new tokens), then never again.
    const first = await navigate(sara, `/api/email-accounts/oauth/callback?code=code-2&state=${state}`);
    expect(first.location).toBe(`/settings/email-accounts?connected=${account.id}`);
    expect(provider.requests.length).toBe(before + 1);
    provider.codes.set('code-3', challenge);
    const again = await navigate(sara, `/api/email-accounts/oauth/callback?code=code-3&state=${state}`);
    expect(again).toEqual(REFUSED);
    expect(await navigate(sara, '/api/email-accounts/oauth/callback?code=x')).toEqual(REFUSED);
    expect(provider.requests.length).toBe(before + 1);
    expect((await sara.json('GET', '/api/email-accounts')).items).toHaveLength(1);
    expect((await luca.json('GET', '/api/email-accounts')).items).toHaveLength(0);
  });

  it('brings a refusal at the provider back to the settings page, and the state is spent', async () => {
    const { state } = await start(sara);
    const denied = await navigate(sara, `/api/email-accounts/oauth/callback?error=access_denied&state=${state}`);
    expect(denied).toEqual({ status: 302, location: '/settings/email-accounts?oauth_error=oauth_denied' });
    expect(await navigate(sara, `/api/email-accounts/oauth/callback?code=late&state=${state}`)).toEqual(REFUSED);
  });

  it('refreshes an access token that expires within 5 minutes before using it, for SMTP XOAUTH2 too', async () => {
    // The second sign-in of the previous test stored access-2 and refresh-2; SMTP goes to the local server.
    await sql(
      `update email_accounts set smtp_host = '127.0.0.1', smtp_port = $2, smtp_security = 'none',
          oauth_expires_at = now() + interval '1 hour' where id = $1`,
      [account.id, smtp.port],
    );
    const [{ version }] = (await sql<{ version: number }>(`select version from email_accounts where id = $1`, [
      account.id,
    ])) as [{ version: number }];
    const deps = filo.services.accounts.connectDeps;
    // Fresh: used as stored, no request to the provider.
    const requests = provider.requests.length;
    expect(await deps.oauth!.accessToken(await connectionOf(account.id))).toBe('access-2');
    expect(provider.requests.length).toBe(requests);
    // Expiring in 2 minutes: refreshed first, and the new token is the one SMTP gets.
    provider.valid.delete('access-2');
    await sql(`update email_accounts set oauth_expires_at = now() + interval '2 minutes' where id = $1`, [account.id]);
    await verifySmtp(await connectionOf(account.id), deps);
    expect(provider.requests.slice(requests)).toEqual([
      expect.objectContaining({ grant_type: 'refresh_token', refresh_token: 'refresh-2' }),
    ]);
    expect(smtp.tokens.at(-1)).toBe('access-3');
    const [row] = await sql<{ oauth_access_token_enc: string; oauth_expires_at: Date; version: number }>(
      `select oauth_access_token_enc, oauth_expires_at, version from email_accounts where id = $1`,
      [account.id],
    );
    expect(new Date(row!.oauth_expires_at).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(new Secrets(filo.config.secretKey).decrypt(row!.oauth_access_token_enc, OAUTH_ACCESS_TOKEN)).toBe(
      'access-3',
    );
    // A renewal is not an edit: the owner's next change on the version they saw still lands.
    expect(row!.version).toBe(version);
  });

  it('puts the account in error with the provider’s words when the refresh token is revoked', async () => {
    provider.revoked.add('refresh-2');
    await sql(`update email_accounts set oauth_expires_at = now() - interval '1 minute' where id = $1`, [account.id]);
    const err = await verifySmtp(await connectionOf(account.id), filo.services.accounts.connectDeps).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AccountConnectError);
    expect(err).toMatchObject({ side: 'smtp', kind: 'auth' });
    expect((err as AccountConnectError).serverMessage).toContain('Token has been expired or revoked.');
    const now = await sara.json<EmailAccountView>('GET', `/api/email-accounts/${account.id}`);
    expect(now.status).toBe('error');
    expect(now.lastError).toContain('Token has been expired or revoked.');
    const notes = await sara.json<{ items: { type: string }[] }>('GET', '/api/notifications');
    expect(notes.items.map((n) => n.type)).toContain('account_error');
  });
});
