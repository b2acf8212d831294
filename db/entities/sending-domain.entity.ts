import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/**
 * A domain a workspace may send mail from (a mailbox address outside its inbound domain), once it has proven it
 * controls it: a TXT record `filo-verification=<token>` at `_filo.<domain>` or at the domain itself.
 */
export const SendingDomainSchema = defineEntity({
  name: 'SendingDomain',
  tableName: 'sending_domains',
  properties: {
    ...tenantOwned,
    domain: p.string().length(253),
    /** Random, per workspace and domain: what the TXT record must carry. */
    token: p.string().length(64),
    verifiedAt: p.datetime().nullable(),
    /** The last look-up: when, and what was wrong (null when it was found). */
    checkedAt: p.datetime().nullable(),
    lastError: p.string().length(500).nullable(),
    createdBy: () => userRef('created_by'),
    ...timestamps,
    version: versioned(),
  },
  uniques: [{ properties: ['tenantId', 'domain'] }],
});
export type SendingDomain = InferEntity<typeof SendingDomainSchema>;
