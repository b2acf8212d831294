import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { MESSAGING_PROVIDERS, type MESSAGING_CHANNELS } from '#contracts/messaging';
import { MailboxSchema } from './mailbox.entity.ts';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/**
 * An account at a messaging provider (Twilio, Vonage, Telegram, Discord). Its conversations live in its own mailbox
 * of kind `messaging`, which carries who sees them. `credentialsEnc` is the provider's secrets as JSON, encrypted
 * with SECRET_KEY (server/crypto/secrets.ts), hidden from serialisation and never logged; `settings` is the rest.
 */
export const MessagingAccountSchema = defineEntity({
  name: 'MessagingAccount',
  tableName: 'messaging_accounts',
  properties: {
    ...tenantOwned,
    mailboxId: () =>
      p.manyToOne(MailboxSchema).mapToPk().fieldName('mailbox_id').deleteRule('cascade').updateRule('cascade'),
    provider: p.enum(MESSAGING_PROVIDERS),
    name: p.string().length(100),
    /** The channels it serves, derived from its settings by its provider. */
    channels: p.array<(typeof MESSAGING_CHANNELS)[number]>().defaultRaw(`'{}'`),
    credentialsEnc: p.text().hidden(),
    settings: p
      .json<Record<string, unknown>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    createContacts: p.boolean().default(true),
    enabled: p.boolean().default(true),
    lastError: p.text().nullable(),
    lastErrorAt: p.datetime().nullable(),
    createdBy: () => userRef('created_by'),
    ...timestamps,
    version: versioned(),
  },
  uniques: [{ properties: ['mailboxId'] }],
  indexes: [{ properties: ['tenantId', 'provider'] }],
});
export type MessagingAccount = InferEntity<typeof MessagingAccountSchema>;
