import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { MAILBOX_KINDS } from '#contracts/inbox';
import { tenantOwned, timestamps, versioned } from './tenant-owned.ts';

/**
 * A shared inbox. Mail reaches it at `<localPart>@<workspace slug>.<INBOUND_DOMAIN>`, sent there directly or
 * forwarded from the team's own address (`address`, shown to customers).
 */
export const MailboxSchema = defineEntity({
  name: 'Mailbox',
  tableName: 'mailboxes',
  properties: {
    ...tenantOwned,
    name: p.string().length(100),
    /** `shared`: a team inbox fed by the gateway; `account`: a member's email account; `messaging`: a MessagingAccount's. */
    kind: p.enum(MAILBOX_KINDS).default('shared'),
    /** Seen only by `memberIds`, owners and admins included (a member's own account); otherwise admins see all. */
    private: p.boolean().default(false),
    localPart: p.string().length(64),
    /** The team's public address that forwards here (e.g. support@acme.com); optional. */
    address: p.string().length(255).nullable(),
    /** Unknown senders become contacts (switchable per mailbox). */
    createContacts: p.boolean().default(true),
    /** Members who see this mailbox; empty = the whole team. */
    memberIds: p.array().defaultRaw(`'{}'`),
    /** Outgoing mail through the team's own SMTP server; unset = SMTP_RELAY_URL (or the development outbox). */
    smtpHost: p.string().length(255).nullable(),
    smtpPort: p.integer().nullable(),
    /** TLS from the first byte (port 465); otherwise STARTTLS when offered. */
    smtpSecure: p.boolean().default(false),
    smtpUser: p.string().length(255).nullable(),
    /** Encrypted with SECRET_KEY (server/crypto/secrets.ts); never returned by the API. */
    smtpPasswordEnc: p.text().nullable().hidden(),
    /** DKIM signing of outgoing mail for the From domain: `<selector>._domainkey.<domain>`. */
    dkimSelector: p.string().length(63).nullable(),
    /** PEM private key, encrypted with SECRET_KEY; never returned by the API. */
    dkimPrivateKeyEnc: p.text().nullable().hidden(),
    /** Opt-in tracking of outgoing mail: an open pixel, and links through `/t/c/<token>`. */
    trackOpens: p.boolean().default(false),
    trackClicks: p.boolean().default(false),
    ...timestamps,
    version: versioned(),
  },
  uniques: [{ properties: ['tenantId', 'localPart'] }],
});
export type Mailbox = InferEntity<typeof MailboxSchema>;
