import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.ts';
import { tempDir } from './support/harness.ts';

const run = promisify(execFile);
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
const dataDir = () => {
  const d = tempDir();
  dirs.push(d);
  return d.dir;
};

const message = (env: Record<string, string>) => {
  try {
    loadConfig({ DATA_DIR: dataDir(), ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
};

describe('configuration', () => {
  it('has working defaults for a newcomer', () => {
    const dir = dataDir();
    const config = loadConfig({ DATA_DIR: dir });
    expect(config).toMatchObject({
      env: 'development',
      port: 3310,
      smtpPort: 2525,
      dataDir: dir,
      databaseUrl: undefined,
      redisUrl: undefined,
      publicUrl: 'http://localhost:3310',
    });
    expect([...config.roles].sort()).toEqual(['smtp', 'web', 'worker']);
  });

  it('names the variable and the problem in one line', () => {
    expect(message({ PORT: 'abc' })).toBe(
      'Invalid configuration: PORT must be a whole number from 0 to 65535 (got "abc")',
    );
    expect(message({ SMTP_PORT: '70000' })).toMatch(/^Invalid configuration: SMTP_PORT must be a whole number/);
    expect(message({ ROLES: 'web,mail' })).toMatch(/^Invalid configuration: ROLES .*unknown: mail/);
    expect(message({ ROLES: ' , ' })).toMatch(/^Invalid configuration: ROLES/);
    expect(message({ DATABASE_URL: 'mysql://x' })).toMatch(
      /^Invalid configuration: DATABASE_URL must be a URL starting with postgres:/,
    );
    expect(message({ REDIS_URL: 'localhost:6379' })).toMatch(/^Invalid configuration: REDIS_URL/);
    expect(message({ PUBLIC_URL: 'ftp://x' })).toMatch(/^Invalid configuration: PUBLIC_URL/);
    expect(message({ SECRET_KEY: 'short' })).toMatch(
      /^Invalid configuration: SECRET_KEY must be at least 32 characters/,
    );
    expect(message({ NODE_ENV: 'staging' })).toMatch(/^Invalid configuration: NODE_ENV/);
    expect(message({ DNS_SERVERS: '127.0.0.1,resolver.lan' })).toMatch(
      /^Invalid configuration: DNS_SERVERS must be a comma-separated list of IP addresses.*"resolver\.lan"/,
    );
    for (const m of [message({ PORT: '-1' }), message({ LOG_LEVEL: 'loud' })]) expect(m).not.toContain('\n');
  });

  it('parses ROLES and PUBLIC_URL', () => {
    const config = loadConfig({ DATA_DIR: dataDir(), ROLES: 'smtp, worker', PUBLIC_URL: 'https://crm.example.com/' });
    expect([...config.roles].sort()).toEqual(['smtp', 'worker']);
    expect(config.publicUrl).toBe('https://crm.example.com');
  });

  it('requires SECRET_KEY in production', () => {
    expect(message({ NODE_ENV: 'production' })).toBe(
      'Invalid configuration: SECRET_KEY is required when NODE_ENV=production',
    );
    const key = 'k'.repeat(40);
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: key, DATA_DIR: dataDir() }).secretKey).toBe(key);
  });

  it('generates a development SECRET_KEY into DATA_DIR once, private, and reuses it', () => {
    const dir = dataDir();
    const first = loadConfig({ DATA_DIR: dir }).secretKey;
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(loadConfig({ DATA_DIR: dir }).secretKey).toBe(first);
    const file = path.join(dir, 'secret.key');
    expect(readFileSync(file, 'utf8').trim()).toBe(first);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadConfig({ DATA_DIR: dataDir() }).secretKey).not.toBe(first);
  });

  it('makes `node server/main.ts` exit at once with that one line', async () => {
    const result = await run(process.execPath, ['server/main.ts'], {
      env: { ...process.env, PORT: 'eighty', DATA_DIR: dataDir() },
      timeout: 10_000,
    }).catch((err: { code: number; stderr: string; stdout: string }) => err);
    expect('code' in result && result.code).toBe(78);
    expect(result.stderr).toBe('Invalid configuration: PORT must be a whole number from 0 to 65535 (got "eighty")\n');
    expect(result.stdout).toBe('');
  });
});
