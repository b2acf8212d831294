import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { LIST_KINDS } from '#contracts/newsletters';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/**
 * A newsletter list: `static` (its subscribers are the `consents` rows naming it) or `segment` (contacts matching
 * `filter` now, frozen into a campaign's send rows when sending starts). A list may have a public subscription form
 * with double opt-in; `consentText` is what that form shows, kept as the evidence of each sign-up.
 */
export const MailingListSchema = defineEntity({
  name: 'MailingList',
  tableName: 'mailing_lists',
  properties: {
    ...tenantOwned,
    name: p.string().length(200),
    description: p.text().nullable(),
    kind: p.enum(LIST_KINDS).default('static'),
    /** A segment's conditions (contracts/newsletter-lists.ts); null for a static list. */
    filter: p.json<Record<string, unknown>>().nullable(),
    doubleOptIn: p.boolean().default(true),
    /** The public subscription form is on (`/s/<id>`). */
    publicForm: p.boolean().default(false),
    consentText: p.text().nullable(),
    /** Subscribed (confirmed) members of a static list, kept on write. */
    subscriberCount: p.integer().default(0),
    createdBy: () => userRef('created_by'),
    archivedAt: p.datetime().nullable(),
    ...timestamps,
    version: versioned(),
  },
  indexes: [{ properties: ['tenantId', 'name'] }],
});
export type MailingList = InferEntity<typeof MailingListSchema>;
