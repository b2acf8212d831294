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
