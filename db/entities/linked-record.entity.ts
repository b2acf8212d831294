import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { LINKED_STATES, LINKED_TABS } from '#contracts/linked-records';
import { tenantOwned, userRef } from './tenant-owned.ts';

/**
 * An object of another module (a project, an invoice, a production job…) kept against a CRM record, identified by
 * its source system, kind and external id (contracts/linked-records.ts).
 */
export const LinkedRecordSchema = defineEntity({
  name: 'LinkedRecord',
  tableName: 'linked_records',
  properties: {
    ...tenantOwned,
    kind: p.string().length(40),
    source: p.string().length(64),
    externalId: p.string().length(200),
    title: p.string().length(500),
    status: p.string().length(100).nullable(),
    state: p.enum(LINKED_STATES).default('active'),
    amount: p.decimal('string').precision(15).scale(2).nullable(),
    currency: p.string().length(3).nullable(),
    startDate: p.date().nullable(),
    dueDate: p.date().nullable(),
    endDate: p.date().nullable(),
    issuedDate: p.date().nullable(),
    url: p.string().length(2000).nullable(),
    fields: p
      .json<Record<string, unknown>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    companyId: p.uuid().nullable(),
    contactId: p.uuid().nullable(),
    dealId: p.uuid().nullable(),
    /** The source's clock: an upsert older than this is ignored (last write wins by the source's `updatedAt`). */
    sourceUpdatedAt: p.datetime(),
    createdBy: () => userRef('created_by'),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date())
      .defaultRaw('now()'),
    version: p.integer().default(1),
  },
  uniques: [{ properties: ['tenantId', 'source', 'kind', 'externalId'] }],
  indexes: [
    { properties: ['tenantId', 'companyId', 'kind'] },
    { properties: ['tenantId', 'contactId'] },
    { properties: ['tenantId', 'dealId'] },
  ],
});
export type LinkedRecord = InferEntity<typeof LinkedRecordSchema>;

/** A kind of linked record the workspace defined (beside the built-in ones), and the card tab that lists it. */
export const LinkedRecordKindSchema = defineEntity({
  name: 'LinkedRecordKind',
  tableName: 'linked_record_kinds',
  properties: {
    ...tenantOwned,
    key: p.string().length(40),
    label: p.string().length(100),
    tab: p.enum(LINKED_TABS),
  },
  uniques: [{ properties: ['tenantId', 'key'] }],
});
export type LinkedRecordKind = InferEntity<typeof LinkedRecordKindSchema>;
