import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject, vi } from 'vitest';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { loadConfig } from '../../server/config.ts';
import { startFilo, type Filo } from '../../server/filo.ts';
import { readOutbox } from '../../server/delivery/mailer.ts';
import { databaseUrl, randomDatabaseName, withAdmin } from './postgres.ts';

export const DEMO = { email: 'demo@filo.local', password: 'filo-demo' };

// Every JSON answer of a route with a declared response schema is checked against it (server/http/routes.ts).
process.env.FILO_CHECK_RESPONSES = '1';

/** A fresh database for this test file, copied from the migrated template. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const adminUrl = inject('pgAdminUrl');
  const name = randomDatabaseName('filo_t');
  await withAdmin(adminUrl, (c) => c.query(`create database ${name} template ${inject('pgTemplate')}`));
  return {
    url: databaseUrl(adminUrl, name),
    name,
    drop: () => withAdmin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

export function tempDir(prefix = 'filo-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestFilo extends Filo {
  baseUrl: string;
  close(): Promise<void>;
}

/** A whole Filo in this process on ephemeral ports, with its own fresh database and data folder. */
export async function startTestFilo(env: Record<string, string> = {}): Promise<TestFilo> {
  const db = env.DATABASE_URL ? undefined : await createTestDatabase();
  const data = tempDir('filo-data-');
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    SMTP_PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: data.dir,
    LOG_LEVEL: 'silent',
    ...(db ? { DATABASE_URL: db.url } : {}),
    ...env,
  });
  const filo = await startFilo(config, pino({ level: process.env.LOG_LEVEL ?? 'silent' }));
  return {
    ...filo,
    baseUrl: `http://127.0.0.1:${filo.httpPort}`,
    async close() {
      await filo.stop();
      await db?.drop();
      data.remove();
    },
  };
}

/** Signs in over HTTP and returns the session cookie (`name=value`). */
export async function login(baseUrl: string, credentials = DEMO): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify(credentials),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie');
  if (!cookie) throw new Error('login set no cookie');
  return cookie.split(';')[0]!;
}

export interface SignUpInput {
  workspace: string;
  name: string;
  email: string;
  password: string;
}

/** The token of the newest sign-up confirmation link mailed to `email` in a development outbox, if any. */
export async function signupLinkToken(outboxDir: string, email: string): Promise<string | null> {
  for (const { raw } of readOutbox(outboxDir).reverse()) {
    const mail = await simpleParser(raw);
    const to = mail.to && !Array.isArray(mail.to) ? mail.to.text : '';
    const token = /\/signup\/confirm#token=([\w-]+)/.exec(mail.text ?? '')?.[1];
    if (token && to.toLowerCase() === email.toLowerCase()) return token;
  }
  return null;
}

/**
 * Signs up as a new workspace owner the way a person does (sign-up, the mailed link, confirm) and returns the
 * session cookie. Where the system mail goes to the test's own SMTP relay, the pending sign-up is made directly.
 * `filo` is an in-process Filo or, for a Filo process, its address and development outbox.
 */
export async function signUp(
  filo: TestFilo | { baseUrl: string; outboxDir: string },
  input: SignUpInput,
  headers: Record<string, string> = {},
): Promise<string> {
  const outboxDir = 'services' in filo ? filo.services.mailer.outboxDir : filo.outboxDir;
  let token: string;
  if (outboxDir) {
    const res = await fetch(`${filo.baseUrl}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: filo.baseUrl, ...headers },
      body: JSON.stringify(input),
    });
    if (res.status !== 202) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
    token = await vi.waitFor(
      async () => {
        const found = await signupLinkToken(outboxDir, input.email);
        if (!found) throw new Error(`no sign-up link mailed to ${input.email}`);
        return found;
      },
      { timeout: 10_000, interval: 50 },
    );
  } else if ('services' in filo) {
    token = await filo.services.team.startSignup(input);
  } else {
    throw new Error('no outbox to read the sign-up link from');
  }
  const res = await fetch(`${filo.baseUrl}/api/auth/signup/confirm`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: filo.baseUrl, ...headers },
    body: JSON.stringify({ token }),
  });
  if (res.status !== 201) throw new Error(`sign-up confirmation failed: ${res.status} ${await res.text()}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

/** The body of an HTTP response, for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const body = async (res: Response): Promise<any> => res.json();

/** The machine-readable code of an error response. */
export const errorCode = async (res: Response): Promise<string> => (await body(res)).error.code;

/** A signed-in browser-like client: cookie + same-origin header on writes (or a bearer token). */
export interface ApiClient {
  cookie: string;
  call(method: string, path: string, payload?: unknown): Promise<Response>;
  /** The parsed body; throws unless the status is `status` (default 201 for POST, 204 for DELETE, else 200). */
  json<T = any>(method: string, path: string, payload?: unknown, status?: number): Promise<T>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function apiClient(baseUrl: string, cookieOrToken: string, bearer = false): ApiClient {
  const call = (method: string, path: string, payload?: unknown) =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(bearer ? { authorization: `Bearer ${cookieOrToken}` } : { cookie: cookieOrToken, origin: baseUrl }),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
  return {
    cookie: cookieOrToken,
    call,
    async json(method, path, payload, status) {
      const res = await call(method, path, payload);
      const data = res.status === 204 ? null : await body(res);
      const expected = status ?? (method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200);
      if (res.status !== expected) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
      return data;
    },
  };
}

/**
 * A new member of the owner's workspace: invited by `owner` and accepted with a new account, then signed in (all
 * over `baseUrl`). Returns their email, session cookie and user id.
 */
export async function invitedMember(
  baseUrl: string,
  owner: ApiClient,
  opts: { name: string; password: string; role?: 'member' | 'admin' },
): Promise<{ email: string; cookie: string; userId: string }> {
  const email = `${opts.name.toLowerCase()}@filo.local`;
  const invitation = await owner.json('POST', '/api/team/invitations', { email, role: opts.role ?? 'member' });
  const res = await fetch(`${baseUrl}/api/auth/accept-invite`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify({ token: invitation.token, name: opts.name, password: opts.password }),
  });
  if (res.status !== 200) throw new Error(`accept-invite: ${res.status} ${await res.text()}`);
  const cookie = await login(baseUrl, { email, password: opts.password });
  const me = await apiClient(baseUrl, cookie).json<{ user: { id: string } }>('GET', '/api/auth/me');
  return { email, cookie, userId: me.user.id };
}
