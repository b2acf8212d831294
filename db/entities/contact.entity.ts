import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CONTACT_STATUSES } from '#contracts/crm';
import { CompanySchema } from './company.entity.ts';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/** A person, usually at a company; any number per company, at most one primary (the seed's `contacts`). */
export const ContactSchema = defineEntity({
  name: 'Contact',
  tableName: 'contacts',
  properties: {
    ...tenantOwned,
    companyId: () =>
      p
        .manyToOne(CompanySchema)
        .mapToPk()
        .fieldName('company_id')
        .nullable()
        .deleteRule('cascade')
        .updateRule('cascade'),
    firstName: p.string().length(100),
    lastName: p.string().length(100),
    email: p.string().length(255).nullable(),
    phone: p.string().length(50).nullable(),
    mobile: p.string().length(50).nullable(),
    role: p.string().length(100).nullable(),
    department: p.string().length(100).nullable(),
    isPrimary: p.boolean().default(false),
    avatarUrl: p.text().nullable(),
    linkedinUrl: p.string().length(255).nullable(),
    birthday: p.date().nullable(),
    customFields: p
      .json<Record<string, unknown>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    notes: p.text().nullable(),
    tags: p.array().defaultRaw(`'{}'`),
    status: p.enum(CONTACT_STATUSES).default('active'),
    /** Set when mail to `email` bounced permanently (a DSN naming it); cleared when the address changes. */
    emailBouncedAt: p.datetime().nullable(),
    /** Why it bounced: the status and the receiving server's words (shown beside the bounce marker). */
    emailBounceReason: p.string().length(500).nullable(),
    /** The contact's IANA time zone (sequences send inside their hours); null: from the company's country. */
    timeZone: p.string().length(64).nullable(),
    createdBy: () => userRef('created_by'),
    ...timestamps,
    version: versioned(),
  },
  indexes: [
    { properties: ['tenantId', 'companyId'] },
    // the list's sorts, in the keyset's order (id ascending last): by name, and newest first
    { name: 'contacts_tenant_name_index', properties: ['tenantId', 'lastName', 'firstName', 'id'] },
    {
      name: 'contacts_tenant_created_at_index',
      expression: `create index "contacts_tenant_created_at_index" on "contacts" ("tenant_id", "created_at" desc, "id")`,
    },
    {
      // the case-insensitive look-up of an address (inbound mail's senders, imports, compose, consent)
      name: 'contacts_tenant_id_lower_email_index',
      expression: `create index "contacts_tenant_id_lower_email_index" on "contacts" ("tenant_id", lower("email"))`,
    },
  ],
});
export type Contact = InferEntity<typeof ContactSchema>;
