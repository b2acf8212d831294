import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CronExpressionParser } from 'cron-parser';
import { parseAllowedHosts } from './delivery/smtp-target.ts';
import { webhooksConfig, webhooksEnv, type WebhooksConfig } from './webhooks/webhooks.config.ts';
import { hotReadsConfig, hotReadsEnv, type HotReadsConfig } from './db-hot/hot.config.ts';
import { smtpProxyConfig, smtpProxyEnv } from '../mail-gateway/proxy.config.ts';
import { smtpGreetingEnv } from '../mail-gateway/greeting.ts';
import { dnsEnv } from './net/dns.ts';
import { developmentSecretKey } from './crypto/development-key.ts';

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
const count = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ message: 'must be a whole number' })
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` })
    .default(fallback);

/** OAuth2 sign-in of email accounts at a provider: client id and secret, and its endpoints (the real ones by default). */
function oauthEnv<P extends string>(prefix: P, endpoints: { auth: string; token: string; userinfo: string }) {
  const optional = z.preprocess(emptyToUndefined, z.string().min(1).max(1000).optional());
  return {
    [`${prefix}_OAUTH_CLIENT_ID`]: optional,
    [`${prefix}_OAUTH_CLIENT_SECRET`]: optional,
    [`${prefix}_OAUTH_AUTH_URL`]: url(['https:', 'http:']).default(endpoints.auth),
    [`${prefix}_OAUTH_TOKEN_URL`]: url(['https:', 'http:']).default(endpoints.token),
    [`${prefix}_OAUTH_USERINFO_URL`]: url(['https:', 'http:']).default(endpoints.userinfo),
  } as Record<`${P}_OAUTH_${'CLIENT_ID' | 'CLIENT_SECRET'}`, typeof optional> &
    Record<`${P}_OAUTH_${'AUTH_URL' | 'TOKEN_URL' | 'USERINFO_URL'}`, z.ZodDefault<ReturnType<typeof url>>>;
}

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
  INBOUND_DOMAIN: z
    .string()
    .toLowerCase()
    .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*$/, { message: 'must be a domain name like inbound.example.com' })
    .default('inbound.localhost'),
  SMTP_MAX_SIZE: count(1024, 200 * 1024 * 1024, 25 * 1024 * 1024),
  SMTP_MAX_RECIPIENTS: count(1, 1000, 50),
  SMTP_MAX_CONNECTIONS_PER_IP: count(1, 100_000, 50),
  SMTP_MAX_MESSAGES_PER_IP_PER_MINUTE: count(1, 10_000_000, 1200),
  INBOUND_BUDGET_MS: count(50, 600_000, 30_000),
  SMTP_TLS_CERT: z.preprocess(emptyToUndefined, z.string().optional()),
  SMTP_TLS_KEY: z.preprocess(emptyToUndefined, z.string().optional()),
  OUTBOUND_RETRY_DELAY: count(1, 3600, 10),
  TASK_REMINDER_SWEEP_SECONDS: count(1, 3600, 30),
  BULK_RATE_PER_SECOND: count(1, 100_000, 100),
  BULK_CONNECTIONS: count(1, 100, 5),
  BULK_RETRY_DELAY: count(1, 3600, 60),
  BULK_MAX_ATTEMPTS: count(1, 50, 8),
  BULK_LEASE_SECONDS: count(2, 3600, 120),
  ACCOUNT_SYNC_POLL_MS: count(100, 600_000, 1_000),
  SPAMD_URL: z.preprocess(emptyToUndefined, url(['spamd:', 'tcp:']).optional()),
  RSPAMD_URL: z.preprocess(emptyToUndefined, url(['http:', 'https:']).optional()),
  MESSAGING_API_BASE: z
    .string()
    .default('')
    .transform((raw, ctx) => {
      const bases: Record<string, string> = {};
      for (const pair of raw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const [name, base] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
        if (!/^[a-z]+$/.test(name) || !/^https?:\/\/\S+$/.test(base)) {
          ctx.addIssue({ code: 'custom', message: 'must be provider=http(s)://host[:port], comma-separated' });
          return z.NEVER;
        }
        bases[name] = base.replace(/\/+$/, '');
      }
      return bases;
    }),
  ACCOUNT_FOLDER_POLL_SECONDS: count(1, 3600, 30),
  SMTP_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((raw, ctx) => {
      const { entries, invalid } = parseAllowedHosts(raw);
      if (invalid.length) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma-separated list of host names, IP addresses or CIDR ranges (not: ${invalid.join(', ')})`,
        });
        return z.NEVER;
      }
      return entries;
    }),
  ...webhooksEnv,
  ...hotReadsEnv,
  ...smtpProxyEnv,
  ...smtpGreetingEnv,
  ...dnsEnv,
  SMTP_ALLOW_PLAIN_AUTH: z
    .enum(['', '0', '1', 'false', 'true'], { message: 'must be 1 or 0' })
    .default('')
    .transform((v) => v === '1' || v === 'true'),
  STORAGE_QUOTA_MB: count(1, 100_000_000, 5120),
  BACKUP_SCHEDULE: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((raw) => raw.trim().split(/\s+/).length === 5, { message: 'must be a 5-field cron expression' })
      .refine(
        (raw) => {
          try {
            CronExpressionParser.parse(raw);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'must be a cron expression such as "30 3 * * *" (daily at 03:30)' },
      )
      .optional(),
  ),
  BACKUP_KEEP: count(1, 10_000, 7),
  /** Who operates the installation (its backups): these members' emails; unset = the owners and admins of a sole workspace. */
  OPERATOR_EMAILS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((e) => e.trim().toLowerCase())
          .filter(Boolean),
      )
      .optional(),
  ),
  METRICS_TOKEN: z.preprocess(
    emptyToUndefined,
    z.string().min(16, { message: 'must be at least 16 characters (try: openssl rand -hex 24)' }).optional(),
  ),
  METRICS_PORT: z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ message: 'must be a whole number from 0 to 65535' })
      .int({ message: 'must be a whole number from 0 to 65535' })
      .min(0, { message: 'must be a whole number from 0 to 65535' })
      .max(65535, { message: 'must be a whole number from 0 to 65535' })
      .optional(),
  ),
  JITSI_DOMAIN: z
    .string()
    .default('meet.jit.si')
    .transform((raw, ctx) => {
      const jitsi = jitsiLocation(raw);
      if (!jitsi) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a host name such as meet.example.com, or an http(s):// address (got "${raw}")`,
        });
        return z.NEVER;
      }
      return jitsi;
    }),
  JITSI_APP_ID: z.preprocess(emptyToUndefined, z.string().min(1).max(255).optional()),
  JITSI_APP_SECRET: z.preprocess(
    emptyToUndefined,
    z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  ),
  ...oauthEnv('GOOGLE', {
    auth: 'https://accounts.google.com/o/oauth2/v2/auth',
    token: 'https://oauth2.googleapis.com/token',
    userinfo: 'https://openidconnect.googleapis.com/v1/userinfo',
  }),
  ...oauthEnv('MICROSOFT', {
    auth: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    token: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    userinfo: 'https://graph.microsoft.com/oidc/userinfo',
  }),
});

/**
 * `meet.example.com` (served over https) or a full `https://host[:port]` / `http://host:port` address (plain
 * http is for a local stand-in, e.g. in tests). The domain is what Jitsi calls it: the host with its port.
 */
function jitsiLocation(raw: string): { domain: string; baseUrl: string } | null {
  const value = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  try {
    const url = new URL(withScheme);
    if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password) return null;
    if (url.pathname !== '/' || url.search || url.hash || !url.host) return null;
    return { domain: url.host, baseUrl: `${url.protocol}//${url.host}` };
  } catch {
    return null;
  }
}

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
  /** Seconds before the first retry of an outgoing message after a temporary failure (then doubling). */
  outboundRetryDelay: number;
  /** Seconds between a worker's sweeps for task reminders whose time has come. */
  taskReminderSweepSeconds: number;
  /** The event feed's sweep, outbound webhooks and the outbound HTTP guard's allowlist. */
  webhooks: WebhooksConfig;
  hotReads: HotReadsConfig;
  /** The bulk engine: messages/s and connections per transport, retry backoff base (s), attempts, claim lease (s). */
  bulk: { ratePerSecond: number; connections: number; retryDelay: number; maxAttempts: number; leaseSeconds: number };
  /** Mailbox SMTP servers off the public internet that workspaces may still use (a local relay); and plain AUTH to them. */
  smtpTargets: { allowedHosts: string[]; allowPlainAuth: boolean };
  /** Members' email accounts: how often a worker looks for accounts to sync, and polls their other folders. */
  accountSync: { pollMs: number; folderPollMs: number };
  /** Bytes each workspace may store (documents, attachments, recordings). */
  storageQuotaBytes: number;
  /** Scheduled backups (worker role): cron expression (unset = none) and how many of the newest are kept. */
  backup: { schedule: string | undefined; keep: number };
  /** Messaging providers' API base URLs by provider (local stand-ins in tests); unset: the providers' own. */
  messaging: { apiBase: Record<string, string> };
  /** Name servers for mail authentication (SPF, DKIM, DMARC) and domain checks; empty: the machine's (server/net/dns.ts). */
  dnsServers: string[];
  /** Spam checkers of the sequences' preflight (spamd preferred); neither: no score. */
  spam: { spamdUrl: string | undefined; rspamdUrl: string | undefined };
  /** `/metrics`: the bearer token on the public port (404 without it), and a token-free port on 127.0.0.1. */
  metrics: { token: string | undefined; port: number | undefined };
  operatorEmails: string[];
  mailFrom: string;
  smtp: {
    inboundDomain: string;
    maxSize: number;
    maxRecipients: number;
    maxConnectionsPerIp: number;
    maxMessagesPerIpPerMinute: number;
    /** CPU time (ms) a mail reader thread may spend on one inbound message before it fails for good. */
    budgetMs: number;
    /** PEM contents (read at start) when both SMTP_TLS_CERT and SMTP_TLS_KEY name files. */
    tls: { cert: string; key: string } | undefined;
    /** TCP balancers whose connections open with a PROXY header (mail-gateway/proxy.config.ts). */
    proxyFrom: string[];
    /** The wait before each SMTP greeting, refusing early talkers (mail-gateway/greeting.ts). */
    greetingDelayMs: number;
  };
  /** OAuth2 (XOAUTH2) sign-in of email accounts, per provider; absent when its client id and secret are not set. */
  oauth: { google?: OAuthClientConfig; microsoft?: OAuthClientConfig };
  /** Video calls: where lib-jitsi-meet and the rooms are; with app id and secret, calls carry a signed JWT. */
  jitsi: {
    domain: string;
    baseUrl: string;
    appId: string | undefined;
    appSecret: string | undefined;
  };
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
    outboundRetryDelay: e.OUTBOUND_RETRY_DELAY,
    taskReminderSweepSeconds: e.TASK_REMINDER_SWEEP_SECONDS,
    webhooks: webhooksConfig(e),
    hotReads: hotReadsConfig(e),
    bulk: {
      ratePerSecond: e.BULK_RATE_PER_SECOND,
      connections: e.BULK_CONNECTIONS,
      retryDelay: e.BULK_RETRY_DELAY,
      maxAttempts: e.BULK_MAX_ATTEMPTS,
      leaseSeconds: e.BULK_LEASE_SECONDS,
    },
    smtpTargets: { allowedHosts: e.SMTP_ALLOWED_HOSTS, allowPlainAuth: e.SMTP_ALLOW_PLAIN_AUTH },
    accountSync: { pollMs: e.ACCOUNT_SYNC_POLL_MS, folderPollMs: e.ACCOUNT_FOLDER_POLL_SECONDS * 1000 },
    storageQuotaBytes: e.STORAGE_QUOTA_MB * 1024 * 1024,
    backup: { schedule: e.BACKUP_SCHEDULE?.trim(), keep: e.BACKUP_KEEP },
    dnsServers: e.DNS_SERVERS,
    spam: { spamdUrl: e.SPAMD_URL, rspamdUrl: e.RSPAMD_URL },
    messaging: { apiBase: e.MESSAGING_API_BASE },
    metrics: { token: e.METRICS_TOKEN, port: e.METRICS_PORT },
    operatorEmails: e.OPERATOR_EMAILS ?? [],
    mailFrom: e.MAIL_FROM ?? `Filo <no-reply@${new URL(e.PUBLIC_URL ?? 'http://localhost').hostname}>`,
    smtp: {
      inboundDomain: e.INBOUND_DOMAIN,
      maxSize: e.SMTP_MAX_SIZE,
      maxRecipients: e.SMTP_MAX_RECIPIENTS,
      maxConnectionsPerIp: e.SMTP_MAX_CONNECTIONS_PER_IP,
      maxMessagesPerIpPerMinute: e.SMTP_MAX_MESSAGES_PER_IP_PER_MINUTE,
      budgetMs: e.INBOUND_BUDGET_MS,
      tls: smtpTls(e.SMTP_TLS_CERT, e.SMTP_TLS_KEY),
      proxyFrom: smtpProxyConfig(e),
      greetingDelayMs: e.SMTP_GREETING_DELAY_MS,
    },
    jitsi: { ...e.JITSI_DOMAIN, ...jitsiToken(e.JITSI_APP_ID, e.JITSI_APP_SECRET) },
    oauth: {
      google: oauthClient('GOOGLE', e.GOOGLE_OAUTH_CLIENT_ID, e.GOOGLE_OAUTH_CLIENT_SECRET, {
        authUrl: e.GOOGLE_OAUTH_AUTH_URL,
        tokenUrl: e.GOOGLE_OAUTH_TOKEN_URL,
        userinfoUrl: e.GOOGLE_OAUTH_USERINFO_URL,
      }),
      microsoft: oauthClient('MICROSOFT', e.MICROSOFT_OAUTH_CLIENT_ID, e.MICROSOFT_OAUTH_CLIENT_SECRET, {
        authUrl: e.MICROSOFT_OAUTH_AUTH_URL,
        tokenUrl: e.MICROSOFT_OAUTH_TOKEN_URL,
        userinfoUrl: e.MICROSOFT_OAUTH_USERINFO_URL,
      }),
    },
  };
}

export interface OAuthClientConfig {
  clientId: string;
  clientSecret: string;
  authUrl: string;
  tokenUrl: string;
  userinfoUrl: string;
}

function oauthClient(
  prefix: string,
  clientId: string | undefined,
  clientSecret: string | undefined,
  endpoints: Pick<OAuthClientConfig, 'authUrl' | 'tokenUrl' | 'userinfoUrl'>,
): OAuthClientConfig | undefined {
  if (Boolean(clientId) !== Boolean(clientSecret))
    throw new ConfigError(
      `Invalid configuration: ${prefix}_OAUTH_CLIENT_ID and ${prefix}_OAUTH_CLIENT_SECRET go together`,
    );
  return clientId && clientSecret ? { clientId, clientSecret, ...endpoints } : undefined;
}

function smtpTls(certFile: string | undefined, keyFile: string | undefined) {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new ConfigError('Invalid configuration: SMTP_TLS_CERT and SMTP_TLS_KEY go together');
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      throw new ConfigError(`Invalid configuration: ${name} cannot read "${file}"`);
    }
  };
  return { cert: read('SMTP_TLS_CERT', certFile), key: read('SMTP_TLS_KEY', keyFile) };
}

function jitsiToken(appId: string | undefined, appSecret: string | undefined) {
  if (Boolean(appId) !== Boolean(appSecret))
    throw new ConfigError('Invalid configuration: JITSI_APP_ID and JITSI_APP_SECRET go together');
  return { appId, appSecret };
}
