import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { IMPORT_STATUSES, type ImportRowError } from '#contracts/crm';
import { MailingListSchema } from './mailing-list.entity.ts';
import { tenantOwned, userRef } from './tenant-owned.ts';

/**
 * A CSV import of subscribers into a static list: the file is in blob storage, `mapping` says which CSV header
 * feeds which column (email, names, company, the consent evidence); progress and row problems are here.
 */
export const SubscriberImportSchema = defineEntity({
  name: 'SubscriberImport',
  tableName: 'subscriber_imports',
  properties: {
    ...tenantOwned,
    listId: () =>
      p.manyToOne(MailingListSchema).mapToPk().fieldName('list_id').deleteRule('cascade').updateRule('cascade'),
    fileName: p.string().length(255),
    fileUrl: p.text(),
    /** CSV header -> subscriber column (contracts/newsletter-lists.ts SUBSCRIBER_COLUMNS). */
    mapping: p.json<Record<string, string>>(),
    status: p.enum(IMPORT_STATUSES).default('queued'),
    totalRows: p.integer().default(0),
    processedRows: p.integer().default(0),
    createdRows: p.integer().default(0),
    /** Addresses left alone because they unsubscribed, bounced or complained. */
    skippedRows: p.integer().default(0),
    errors: p
      .json<ImportRowError[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    failure: p.text().nullable(),
    createdBy: () => userRef('created_by'),
    finishedAt: p.datetime().nullable(),
  },
  indexes: [{ properties: ['tenantId', 'listId', 'createdAt'] }],
});
export type SubscriberImport = InferEntity<typeof SubscriberImportSchema>;
