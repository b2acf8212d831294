import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { TenantSchema } from './tenant.entity.ts';
import { DOCUMENT_CATEGORIES } from '#contracts/crm';
import { userRef } from './tenant-owned.ts';

/** A file attached to a record; the bytes live in blob storage under `file_url` (the seed's `documents`). */
export const DocumentSchema = defineEntity({
  name: 'Document',
  tableName: 'documents',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    tenantId: () =>
      p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').deleteRule('cascade').updateRule('cascade'),
    entityType: p.string().length(50),
    entityId: p.uuid(),
    fileName: p.string().length(255),
    fileType: p.string().length(100).nullable(),
    fileSize: p.bigint('number').nullable(),
    fileUrl: p.text(),
    sha256: p.string().length(64),
    category: p.enum(DOCUMENT_CATEGORIES).default('other'),
    uploadedBy: () => userRef('uploaded_by'),
    uploadedAt: p
      .datetime()
      .onCreate(() => new Date())
      .defaultRaw('now()'),
    /** The mailbox whose mail brought it (an attachment): seen only by who sees that mailbox. */
    mailboxId: p.uuid().nullable(),
  },
  indexes: [{ properties: ['tenantId', 'entityType', 'entityId'] }],
});
export type Document = InferEntity<typeof DocumentSchema>;
