import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { COMPANY_SIZES, COMPANY_STATUSES, COMPANY_TYPES, type Address } from '#contracts/crm';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/** A customer, supplier or stakeholder organisation (the seed's `companies`). */
export const CompanySchema = defineEntity({
  name: 'Company',
  tableName: 'companies',
  properties: {
    ...tenantOwned,
    name: p.string().length(255),
    type: p.enum(COMPANY_TYPES),
    vatNumber: p.string().length(50).nullable(),
    taxCode: p.string().length(50).nullable(),
    website: p.string().length(255).nullable(),
    industry: p.string().length(100).nullable(),
    size: p.enum(COMPANY_SIZES).nullable(),
    annualRevenue: p.decimal('string').precision(15).scale(2).nullable(),
    logoUrl: p.text().nullable(),
    billingAddress: p.json<Address>().nullable(),
    shippingAddress: p.json<Address>().nullable(),
    customFields: p
      .json<Record<string, unknown>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    tags: p.array().defaultRaw(`'{}'`),
    status: p.enum(COMPANY_STATUSES).default('active'),
    assignedTo: () => userRef('assigned_to'),
    createdBy: () => userRef('created_by'),
    ...timestamps,
    version: versioned(),
  },
  indexes: [
    { properties: ['tenantId', 'name'] },
    // the list as its screen filters it (type and status, by name): every column an index condition or the order
    { name: 'companies_list_type_status_index', properties: ['tenantId', 'type', 'status', 'name', 'id'] },
    // the list newest first by creation or by last update, in the keyset's order (id ascending after the time)
    {
      name: 'companies_tenant_created_at_index',
      expression: `create index "companies_tenant_created_at_index" on "companies" ("tenant_id", "created_at" desc, "id")`,
    },
    {
      name: 'companies_tenant_updated_at_index',
      expression: `create index "companies_tenant_updated_at_index" on "companies" ("tenant_id", "updated_at" desc, "id")`,
    },
  ],
});
export type Company = InferEntity<typeof CompanySchema>;
