import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../server/config.ts';
import { startFilo, type Filo } from '../../server/filo.ts';
import { databaseUrl, randomDatabaseName, withAdmin } from './postgres.ts';

export const DEMO = { email: 'demo@filo.local', password: 'filo-demo' };

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
