import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CompanySchema } from './company.entity.ts';
import { tenantOwned, userRef } from './tenant-owned.ts';

/**
 * A timeline entry, written by services only (the seed's `activities`). `seq` is per tenant and strictly
 * increasing in commit order; `company_id` places contact and deal activities on their company's timeline too.
 */
export const ActivitySchema = defineEntity({
  name: 'Activity',
  tableName: 'activities',
  properties: {
    ...tenantOwned,
    seq: p.bigint('number'),
    entityType: p.string().length(50),
    entityId: p.uuid(),
    companyId: () =>
      p
        .manyToOne(CompanySchema)
        .mapToPk()
        .fieldName('company_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    activityType: p.string().length(50),
    title: p.string().length(255),
    description: p.text().nullable(),
    metadata: p
      .json<Record<string, unknown>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    createdBy: () => userRef('created_by'),
    /** The mailbox it came from (mail, a conversation's notes and changes): seen only by who sees that mailbox. */
    mailboxId: p.uuid().nullable(),
  },
  indexes: [
    { properties: ['tenantId', 'entityType', 'entityId', 'seq'] },
    { properties: ['tenantId', 'companyId', 'seq'] },
  ],
  uniques: [{ properties: ['tenantId', 'seq'] }],
});
export type Activity = InferEntity<typeof ActivitySchema>;
