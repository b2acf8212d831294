import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ACCOUNT_AUTH_METHODS, ACCOUNT_PROVIDERS, ACCOUNT_STATUSES, CONNECTION_SECURITY } from '#contracts/accounts';
import { MailboxSchema } from './mailbox.entity.ts';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/**
 * A member's own mailbox at their provider: IMAP to read it, SMTP to send from it, configured separately (or
 * OAuth2). Its mail lives in a mailbox of kind `account` (`mailboxId`), which carries who sees it. Secrets are
 * encrypted with SECRET_KEY (server/crypto/secrets.ts), hidden from serialisation and never logged.
 */
export const EmailAccountSchema = defineEntity({
  name: 'EmailAccount',
  tableName: 'email_accounts',
  properties: {
    ...tenantOwned,
    mailboxId: () =>
      p.manyToOne(MailboxSchema).mapToPk().fieldName('mailbox_id').deleteRule('cascade').updateRule('cascade'),
    ownerId: () => userRef('owner_id'),
    email: p.string().length(320),
    displayName: p.string().length(255).nullable(),
    /** Other addresses of the account it may send as (and that count as its own when reading). */
    aliases: p.array().defaultRaw(`'{}'`),
    provider: p.enum(ACCOUNT_PROVIDERS).default('imap'),
    authMethod: p.enum(ACCOUNT_AUTH_METHODS).default('password'),
    imapHost: p.string().length(255),
    imapPort: p.integer(),
    imapSecurity: p.enum(CONNECTION_SECURITY).default('tls'),
    imapUser: p.string().length(320),
    imapPasswordEnc: p.text().nullable().hidden(),
    smtpHost: p.string().length(255),
    smtpPort: p.integer(),
    smtpSecurity: p.enum(CONNECTION_SECURITY).default('tls'),
    smtpUser: p.string().length(320),
    smtpPasswordEnc: p.text().nullable().hidden(),
    oauthAccessTokenEnc: p.text().nullable().hidden(),
    oauthRefreshTokenEnc: p.text().nullable().hidden(),
    oauthExpiresAt: p.datetime().nullable(),
    oauthScope: p.text().nullable(),
    /** How far back the initial sync reads, in days. */
    syncDays: p.integer().default(90),
    /** Reading a message in Filo sets `\Seen` at the provider (off: Filo never changes a flag). */
    mirrorReadState: p.boolean().default(false),
    /** The provider files sent mail in Sent itself (Gmail, Microsoft): Filo does not append its copy. */
    providerSavesSent: p.boolean().default(false),
    enabled: p.boolean().default(true),
    status: p.enum(ACCOUNT_STATUSES).default('pending'),
    syncDone: p.integer().default(0),
    syncTotal: p.integer().default(0),
    lastError: p.text().nullable(),
    lastErrorAt: p.datetime().nullable(),
    /** Which side failed last: `imap` (reading) or `smtp` (sending); a success of one side never clears the other's. */
    lastErrorSide: p.enum(['imap', 'smtp'] as const).nullable(),
    lastSyncAt: p.datetime().nullable(),
    connectedAt: p.datetime().nullable(),
    ...timestamps,
    version: versioned(),
  },
  uniques: [{ properties: ['mailboxId'] }, { properties: ['tenantId', 'email'] }],
  indexes: [{ name: 'email_accounts_owner_index', properties: ['tenantId', 'ownerId'] }],
});
export type EmailAccount = InferEntity<typeof EmailAccountSchema>;
