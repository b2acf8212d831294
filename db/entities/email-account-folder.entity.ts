import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { EmailAccountSchema } from './email-account.entity.ts';
import { tenantOwned } from './tenant-owned.ts';

/** One IMAP folder of an account and where its sync stands (UIDVALIDITY, HIGHESTMODSEQ, the oldest UID read). */
export const EmailAccountFolderSchema = defineEntity({
  name: 'EmailAccountFolder',
  tableName: 'email_account_folders',
  properties: {
    ...tenantOwned,
    accountId: () =>
      p.manyToOne(EmailAccountSchema).mapToPk().fieldName('account_id').deleteRule('cascade').updateRule('cascade'),
    path: p.string().length(1000),
    /** `inbox`, `sent`, … (see FOLDER_ROLES), null for an ordinary folder. */
    specialUse: p.string().length(16).nullable(),
    /** Whether Filo reads this folder (Inbox and Sent by default; never Junk, Trash or Drafts). */
    synced: p.boolean().default(true),
    uidValidity: p.bigint('number').nullable(),
    highestModseq: p.bigint('string').nullable(),
    uidNext: p.bigint('number').nullable(),
    /** The lowest UID the initial sync has read down to (it reads newest first, in chunks). */
    oldestUid: p.bigint('number').nullable(),
    initialDone: p.boolean().default(false),
    messages: p.integer().default(0),
    lastSyncedAt: p.datetime().nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date())
      .defaultRaw('now()'),
  },
  uniques: [{ properties: ['tenantId', 'accountId', 'path'] }],
});
export type EmailAccountFolder = InferEntity<typeof EmailAccountFolderSchema>;
