import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CONSENT_CHANNELS, CONSENT_SOURCES, CONSENT_STATUSES } from '#contracts/consent';
import { ContactSchema } from './contact.entity.ts';
import { MailingListSchema } from './mailing-list.entity.ts';
import { tenantOwned, userRef } from './tenant-owned.ts';

/**
 * Consent and suppression for one address on one channel: for one list (`listId`), or for the whole channel
 * (`listId` null: unsubscribed from everything, a hard bounce, a complaint). `addressHash` (an HMAC of channel and
 * address) is what senders look up, and what an erasure keeps once `address` and the evidence are gone.
 */
export const ConsentSchema = defineEntity({
  name: 'Consent',
  tableName: 'consents',
  properties: {
    ...tenantOwned,
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date())
      .defaultRaw('now()'),
    channel: p.enum(CONSENT_CHANNELS).default('email'),
    /** Lower-cased email, E.164 number or chat id; null once erased. */
    address: p.string().length(320).nullable(),
    addressHash: p.string().length(64),
    contactId: () =>
      p
        .manyToOne(ContactSchema)
        .mapToPk()
        .fieldName('contact_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    listId: () =>
      p
        .manyToOne(MailingListSchema)
        .mapToPk()
        .fieldName('list_id')
        .nullable()
        .deleteRule('cascade')
        .updateRule('cascade'),
    status: p.enum(CONSENT_STATUSES),
    source: p.enum(CONSENT_SOURCES),
    ip: p.string().length(64).nullable(),
    userAgent: p.text().nullable(),
    /** The exact text the person agreed to (a form's consent text). */
    consentText: p.text().nullable(),
    signedUpAt: p.datetime().nullable(),
    confirmedAt: p.datetime().nullable(),
    withdrawnAt: p.datetime().nullable(),
    /** SHA-256 of the double opt-in confirmation token while it is pending. */
    confirmTokenHash: p.string().length(64).nullable(),
  },
  indexes: [
    { properties: ['tenantId', 'listId', 'status'] },
    { properties: ['tenantId', 'contactId'] },
    {
      name: 'consents_scope_unique',
      expression: `create unique index "consents_scope_unique" on "consents" ("tenant_id", "channel", "address_hash", coalesce("list_id", '00000000-0000-0000-0000-000000000000'::uuid))`,
    },
  ],
  // Keep mailing_lists.subscriber_count right in the writer's transaction, whoever writes (migration 20261206040100).
  triggers: (['insert', 'update', 'delete'] as const).map((event) => ({
    name: `consents_subscriber_count_${event}`,
    timing: 'after' as const,
    events: [event],
    forEach: 'statement' as const,
    expression: `create trigger consents_subscriber_count_${event} after ${event} on consents referencing ${event === 'insert' ? 'new table as new_rows' : event === 'delete' ? 'old table as old_rows' : 'old table as old_rows new table as new_rows'} for each statement execute function filo_list_subscriber_counts()`,
  })),
});
export type Consent = InferEntity<typeof ConsentSchema>;

/** The history of a consent row: each change with its source and evidence (the proof of consent). */
export const ConsentEventSchema = defineEntity({
  name: 'ConsentEvent',
  tableName: 'consent_events',
  properties: {
    ...tenantOwned,
    consentId: () =>
      p.manyToOne(ConsentSchema).mapToPk().fieldName('consent_id').deleteRule('cascade').updateRule('cascade'),
    status: p.enum(CONSENT_STATUSES),
    source: p.enum(CONSENT_SOURCES),
    ip: p.string().length(64).nullable(),
    userAgent: p.text().nullable(),
    consentText: p.text().nullable(),
    /** A member's note on a change made by hand. */
    note: p.text().nullable(),
    actorId: () => userRef('actor_id'),
  },
  indexes: [{ properties: ['tenantId', 'consentId', 'createdAt'] }],
});
export type ConsentEvent = InferEntity<typeof ConsentEventSchema>;
