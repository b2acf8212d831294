import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { IMPORT_STATUSES, IMPORT_TYPES, type ImportRowError } from '#contracts/crm';
import { ON_DUPLICATE } from '#contracts/crm-imports';
import { tenantOwned, userRef } from './tenant-owned.ts';

/** A CSV import of companies or contacts: the file is in blob storage, progress and row errors are here. */
export const ImportSchema = defineEntity({
  name: 'Import',
  tableName: 'imports',
  properties: {
    ...tenantOwned,
    entityType: p.enum(IMPORT_TYPES),
    fileName: p.string().length(255),
    fileUrl: p.text(),
    status: p.enum(IMPORT_STATUSES).default('queued'),
    totalRows: p.integer().default(0),
    processedRows: p.integer().default(0),
    createdRows: p.integer().default(0),
    updatedRows: p.integer().default(0),
    skippedRows: p.integer().default(0),
    /** The target of each CSV column (`null`: ignored); `null` for an import started without a mapping step. */
    mapping: p.json<(string | null)[]>().nullable(),
    onDuplicate: p.enum(ON_DUPLICATE).default('skip'),
    errors: p
      .json<ImportRowError[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    failure: p.text().nullable(),
    createdBy: () => userRef('created_by'),
    finishedAt: p.datetime().nullable(),
  },
  indexes: [{ properties: ['tenantId', 'createdAt'] }],
});
export type Import = InferEntity<typeof ImportSchema>;
