import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';

/**
 * Members' own email accounts at their provider (IMAP for reading, SMTP for sending, each configured on its own,
 * or OAuth2 for Google and Microsoft). Secrets are write-only: the API says only whether one is stored.
 */

export const ACCOUNT_PROVIDERS = ['imap', 'google', 'microsoft'] as const;
export const accountProvider = z.enum(ACCOUNT_PROVIDERS);
export type AccountProvider = z.infer<typeof accountProvider>;

export const ACCOUNT_AUTH_METHODS = ['password', 'oauth2'] as const;
export const accountAuthMethod = z.enum(ACCOUNT_AUTH_METHODS);

/** `tls`: TLS from the first byte (993, 465); `starttls`: upgraded, required; `none`: plain (allowed local hosts only). */
export const CONNECTION_SECURITY = ['tls', 'starttls', 'none'] as const;
export const connectionSecurity = z.enum(CONNECTION_SECURITY);
export type ConnectionSecurity = z.infer<typeof connectionSecurity>;

/** An account's health: `pending` before its first connection; `syncing` while the initial sync runs. */
export const ACCOUNT_STATUSES = ['pending', 'syncing', 'connected', 'error', 'paused'] as const;
export const accountStatus = z.enum(ACCOUNT_STATUSES);
export type AccountStatus = z.infer<typeof accountStatus>;

/** Special-use roles of the folders Filo reads (RFC 6154); other folders have none. */
export const FOLDER_ROLES = ['inbox', 'sent', 'archive', 'drafts', 'junk', 'trash', 'all'] as const;
export const folderRole = z.enum(FOLDER_ROLES);
export type FolderRole = z.infer<typeof folderRole>;

/** The health shown live on the settings page (`account:health` on the socket). */
export const accountHealth = z.object({
  accountId: uuid,
  status: accountStatus,
  /** Initial sync progress: messages imported of those in the chosen window. */
  syncDone: z.number(),
  syncTotal: z.number(),
  /** The server's own words on the last failure; null when the last attempt worked. */
  lastError: z.string().nullable(),
  lastErrorAt: isoDate.nullable(),
  lastSyncAt: isoDate.nullable(),
});
export type AccountHealth = z.infer<typeof accountHealth>;

// ---- Accounts as the API answers and takes them

/** Who sees an account's mail: its owner only, the owner and chosen members, or the whole team. */
export const ACCOUNT_VISIBILITIES = ['private', 'members', 'team'] as const;
export const accountVisibility = z.enum(ACCOUNT_VISIBILITIES);
export type AccountVisibility = z.infer<typeof accountVisibility>;

/** Server settings of the providers Filo knows; `imap` (any other provider) has none. */
export const ACCOUNT_PRESETS = {
  google: {
    imap: { host: 'imap.gmail.com', port: 993, security: 'tls' },
    smtp: { host: 'smtp.gmail.com', port: 465, security: 'tls' },
    providerSavesSent: true,
  },
  microsoft: {
    imap: { host: 'outlook.office365.com', port: 993, security: 'tls' },
    smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls' },
    providerSavesSent: true,
  },
} as const satisfies Record<
  Exclude<AccountProvider, 'imap'>,
  {
    imap: { host: string; port: number; security: ConnectionSecurity };
    smtp: { host: string; port: number; security: ConnectionSecurity };
    providerSavesSent: boolean;
  }
>;

const serverView = z.object({
  host: z.string(),
  port: z.number(),
  security: connectionSecurity,
  user: z.string(),
  /** Secrets are write-only: only whether one is stored. */
  hasPassword: z.boolean(),
});

export const emailAccount = accountHealth.omit({ accountId: true }).extend({
  id: uuid,
  /** The mailbox of kind `account` holding its mail (the inbox filters by it). */
  mailboxId: uuid,
  ownerId: uuid.nullable(),
  /** Whether the asking member owns it; `canEdit`: owner, or an admin of the workspace. */
  own: z.boolean(),
  canEdit: z.boolean(),
  email: z.string(),
  displayName: z.string().nullable(),
  aliases: z.array(z.string()),
  provider: accountProvider,
  authMethod: accountAuthMethod,
  imap: serverView,
  smtp: serverView,
  /** OAuth2 accounts: whether a refresh token is stored, and when the access token expires. */
  oauth: z.object({ connected: z.boolean(), expiresAt: isoDate.nullable() }).nullable(),
  syncDays: z.number(),
  mirrorReadState: z.boolean(),
  providerSavesSent: z.boolean(),
  enabled: z.boolean(),
  visibility: accountVisibility,
  /** With `members`: who sees it besides the owner. */
  memberIds: z.array(uuid),
  connectedAt: isoDate.nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  version: z.number(),
});
export type EmailAccountView = z.infer<typeof emailAccount>;
export const emailAccountList = z.object({ items: z.array(emailAccount) });

/** What Filo can offer on the settings page: OAuth2 sign-in per provider when the operator configured it. */
export const accountOptions = z.object({
  oauth: z.object({ google: z.boolean(), microsoft: z.boolean() }),
});
export type AccountOptions = z.infer<typeof accountOptions>;

const hostName = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(255)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[?[0-9a-f:.]+\]?$/, {
    message: 'must be a host name or an IP address',
  });
const port = z.number().int().min(1).max(65535);
const login = z.string().trim().min(1).max(320);
const secret = z.string().min(1).max(1000);
const address = z.email().max(320).toLowerCase();
/** Ids a client sends are checked as ids (a malformed one is the client's error, not the database's). */
const id = z.uuid();

/** One side's server. Host, port and security default to the provider's preset; `user` to the address. */
export const serverInput = z
  .object({
    host: hostName.optional(),
    port: port.optional(),
    security: connectionSecurity.optional(),
    user: login.optional(),
    password: secret.optional(),
  })
  .strict();
export type ServerInput = z.infer<typeof serverInput>;

const SYNC_DAYS_MAX = 3650;

/**
 * A new account. IMAP and SMTP are configured separately; the SMTP password, when left out, is the IMAP one
 * (most providers use one password for both). Visibility `members` needs `memberIds`.
 */
export const accountInput = z
  .object({
    provider: accountProvider.default('imap'),
    email: address,
    displayName: z.string().trim().min(1).max(100).nullable().optional(),
    aliases: z.array(address).max(50).optional(),
    imap: serverInput,
    smtp: serverInput.default({}),
    syncDays: z.number().int().min(1).max(SYNC_DAYS_MAX).optional(),
    mirrorReadState: z.boolean().optional(),
    providerSavesSent: z.boolean().optional(),
    visibility: accountVisibility.default('private'),
    memberIds: z.array(id).max(500).optional(),
  })
  .strict();
export type AccountInput = z.infer<typeof accountInput>;

/**
 * Changes to an account. `version`: the one the edit was made on (a stale one answers 409 version_conflict).
 * A new host, port or user on a side needs that side's password again (a stored one goes only where it was typed for).
 */
export const accountPatch = z
  .object({
    displayName: z.string().trim().min(1).max(100).nullable().optional(),
    aliases: z.array(address).max(50).optional(),
    imap: serverInput.optional(),
    smtp: serverInput.optional(),
    syncDays: z.number().int().min(1).max(SYNC_DAYS_MAX).optional(),
    mirrorReadState: z.boolean().optional(),
    providerSavesSent: z.boolean().optional(),
    visibility: accountVisibility.optional(),
    memberIds: z.array(id).max(500).optional(),
    version: z.number().int().min(1).optional(),
  })
  .strict();
export type AccountPatch = z.infer<typeof accountPatch>;

/** "Test connection": settings not saved yet (as for a new account), or a saved account by id. */
export const accountTestInput = z.union([z.object({ accountId: id }).strict(), accountInput]);
export type AccountTestInput = z.infer<typeof accountTestInput>;

/** One side's result: `ok`, or how it failed with the server's own words. */
export const connectionCheck = z.object({
  ok: z.boolean(),
  kind: z.enum(['auth', 'tls', 'network', 'refused']).nullable(),
  message: z.string().nullable(),
});
export type ConnectionCheck = z.infer<typeof connectionCheck>;
export const accountTestResult = z.object({ imap: connectionCheck, smtp: connectionCheck });
export type AccountTestResult = z.infer<typeof accountTestResult>;

export const OAUTH_PROVIDERS = ['google', 'microsoft'] as const;
export const oauthProvider = z.enum(OAUTH_PROVIDERS);
export type OAuthProvider = z.infer<typeof oauthProvider>;

/** What a client sends (defaults not yet applied). */
export type AccountInputBody = z.input<typeof accountInput>;
export type AccountTestBody = z.input<typeof accountTestInput>;
