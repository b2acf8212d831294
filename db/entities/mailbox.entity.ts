import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { tenantOwned, timestamps } from './tenant-owned.ts';

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
    localPart: p.string().length(64),
    /** The team's public address that forwards here (e.g. support@acme.com); optional. */
    address: p.string().length(255).nullable(),
    /** Unknown senders become contacts (switchable per mailbox). */
    createContacts: p.boolean().default(true),
    /** Members who see this mailbox; empty = the whole team. */
    memberIds: p.array().defaultRaw(`'{}'`),
    ...timestamps,
  },
  uniques: [{ properties: ['tenantId', 'localPart'] }],
});
export type Mailbox = InferEntity<typeof MailboxSchema>;
