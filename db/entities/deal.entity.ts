import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CompanySchema } from './company.entity.ts';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/** An opportunity in the pipeline (the seed's `deals`). */
export const DealSchema = defineEntity({
  name: 'Deal',
  tableName: 'deals',
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
    title: p.string().length(255),
    value: p.decimal('string').precision(15).scale(2).nullable(),
    currency: p.string().length(3).default('EUR'),
    /** A key of the workspace's pipeline stages (checked by the records service). */
    stage: p.text().default('lead'),
    probability: p.integer().nullable(),
    expectedCloseDate: p.date().nullable(),
    actualCloseDate: p.date().nullable(),
    source: p.string().length(100).nullable(),
    customFields: p
      .json<Record<string, unknown>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    assignedTo: () => userRef('assigned_to'),
    createdBy: () => userRef('created_by'),
    ...timestamps,
    version: versioned(),
  },
  indexes: [
    { properties: ['tenantId', 'companyId'] },
    { properties: ['tenantId', 'stage'] },
    // the list's sorts, in the keyset's order (id ascending last): by title, and newest first
    { name: 'deals_tenant_title_index', properties: ['tenantId', 'title', 'id'] },
    {
      name: 'deals_tenant_created_at_index',
      expression: `create index "deals_tenant_created_at_index" on "deals" ("tenant_id", "created_at" desc, "id")`,
    },
  ],
});
export type Deal = InferEntity<typeof DealSchema>;
