import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const ROLE_NAMES = ['web', 'smtp', 'worker'] as const;
export type Role = (typeof ROLE_NAMES)[number];

const port = (fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((raw, ctx) => {
      const value = Number(raw);
      if (!/^\d+$/.test(raw.trim()) || value > 65535) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from 0 to 65535 (got "${raw}")` });
        return z.NEVER;
      }
      return value;
    });

const url = (protocols: string[]) =>
  z.string().refine(
    (raw) => {
      try {
        return protocols.includes(new URL(raw).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value);

/** Every environment variable Filo reads, with its meaning; `.env.example` and docker-compose are checked against it. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port(3310),
  HOST: z.string().min(1).default('0.0.0.0'),
  SMTP_PORT: port(2525),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.preprocess(emptyToUndefined, url(['postgres:', 'postgresql:']).optional()),
  REDIS_URL: z.preprocess(emptyToUndefined, url(['redis:', 'rediss:']).optional()),
  SECRET_KEY: z.preprocess(
    emptyToUndefined,
    z.string().min(32, { message: 'must be at least 32 characters (try: openssl rand -hex 32)' }).optional(),
  ),
  PUBLIC_URL: z.preprocess(emptyToUndefined, url(['http:', 'https:']).optional()),
  ROLES: z
    .string()
    .default(ROLE_NAMES.join(','))
    .transform((raw, ctx) => {
      const roles = raw
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      const unknown = roles.filter((r) => !(ROLE_NAMES as readonly string[]).includes(r));
      if (roles.length === 0 || unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma-separated list of ${ROLE_NAMES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
        });
        return z.NEVER;
      }
      return new Set(roles as Role[]);
    }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SMTP_RELAY_URL: z.preprocess(emptyToUndefined, url(['smtp:', 'smtps:']).optional()),
  MAIL_FROM: z.preprocess(emptyToUndefined, z.string().min(3).max(255).optional()),
});

export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  smtpPort: number;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Key material for encrypting secrets and signing tokens; never logged. */
  secretKey: string;
  publicUrl: string;
  roles: ReadonlySet<Role>;
  logLevel: string;
  /** Outbound relay; unset = development outbox in DATA_DIR. */
  smtpRelayUrl: string | undefined;
  mailFrom: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the environment; throws a ConfigError whose message is one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const shown = env[name] === undefined ? '' : ` (got "${env[name]}")`;
    const message = issue.message.includes('(got') ? issue.message : `${issue.message}${shown}`;
    throw new ConfigError(`Invalid configuration: ${name} ${message}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  if (!e.SECRET_KEY && e.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration: SECRET_KEY is required when NODE_ENV=production');
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    smtpPort: e.SMTP_PORT,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    secretKey: e.SECRET_KEY ?? developmentSecretKey(dataDir),
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    roles: e.ROLES,
    logLevel: e.LOG_LEVEL,
    smtpRelayUrl: e.SMTP_RELAY_URL,
    mailFrom: e.MAIL_FROM ?? `Filo <no-reply@${new URL(e.PUBLIC_URL ?? 'http://localhost').hostname}>`,
  };
}

/** Outside production a key is generated once into DATA_DIR, so that sessions and encrypted secrets survive restarts. */
function developmentSecretKey(dataDir: string): string {
  const file = path.join(dataDir, 'secret.key');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('hex');
  try {
    writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
}
