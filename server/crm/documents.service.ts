import type { Readable } from 'node:stream';
import { fileTypeFromFile } from 'file-type';
import type { MikroORM } from '../../db/orm.ts';
import type { CrmDocument, DOCUMENT_CATEGORIES } from '#contracts/crm';
import { DocumentSchema, type Document } from '../../db/entities/document.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { quotaExceeded, type StorageQuota } from '../storage/quota.ts';
import { inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { KINDS, type RecordType, type RecordsService } from './records.service.ts';
import { mailboxFilter, visibleMailboxes } from '../timeline/mailbox-visibility.ts';
import { truncateFileName } from '../text.ts';
import { audit } from '../audit/record.ts';

export const DOCUMENT_MAX_BYTES = 25 * 1024 * 1024;

const TEXT_EXTENSIONS = /\.(txt|csv|md|json|log)$/i;
// Types a browser could execute or render as a page are never served as themselves.
const ACTIVE_TYPES = /^(image\/svg\+xml|text\/html|application\/xhtml\+xml|application\/xml|text\/xml)$/;

/** A document as the API answers it: where its bytes are stored (a blob key) and its workspace stay inside. */
export function documentDto(doc: Document): CrmDocument {
  return {
    id: doc.id,
    entityType: doc.entityType as RecordType,
    entityId: doc.entityId,
    fileName: doc.fileName,
    fileType: doc.fileType ?? null,
    fileSize: doc.fileSize ?? null,
    sha256: doc.sha256,
    category: doc.category,
    uploadedBy: doc.uploadedBy ?? null,
    uploadedAt: doc.uploadedAt.toISOString(),
    mailboxId: doc.mailboxId ?? null,
  };
}

/** Files on companies, contacts and deals: stored by the blob store, typed by their bytes, never trusted. */
export class DocumentsService {
  readonly #orm: MikroORM;
  readonly #blobs: BlobStore;
  readonly #records: RecordsService;
  readonly #activities: ActivitiesService;
  readonly #quota: StorageQuota;

  constructor(
    orm: MikroORM,
    blobs: BlobStore,
    records: RecordsService,
    activities: ActivitiesService,
    quota: StorageQuota,
  ) {
    this.#orm = orm;
    this.#blobs = blobs;
    this.#records = records;
    this.#activities = activities;
    this.#quota = quota;
  }

  /** Streams the file to storage first; the row and the activity are written only when everything is valid. */
  async upload(
    actor: Actor,
    meta: { entityType: RecordType; entityId: string; category?: (typeof DOCUMENT_CATEGORIES)[number] | undefined },
    file: { name: string; stream: Readable },
  ): Promise<Document> {
    requireWrite(actor);
    // A file that cannot fit in what is left of the quota stops streaming as soon as it passes it.
    const remaining = await this.#quota.remaining(actor);
    const blob = await this.#blobs.put(file.stream, {
      prefix: actor.tenantId,
      maxBytes: Math.min(DOCUMENT_MAX_BYTES, remaining),
    });
    if (!blob.complete && blob.size > DOCUMENT_MAX_BYTES)
      throw new HttpError(413, 'payload_too_large', `Files are limited to ${DOCUMENT_MAX_BYTES / 1024 / 1024} MB`);
    if (!blob.complete) throw quotaExceeded(await this.#quota.usage(actor));
    try {
      const sniffed = await fileTypeFromFile(this.#blobs.path(blob.key));
      const fileType = sniffed?.mime ?? (TEXT_EXTENSIONS.test(file.name) ? 'text/plain' : 'application/octet-stream');
      return await inTenant(this.#orm, actor, async (uow) => {
        const record = await this.#records.find(uow, meta.entityType, meta.entityId);
        await this.#quota.reserve(actor.tenantId, blob.size, uow.em);
        const doc = uow.em.create(DocumentSchema, {
          tenantId: actor.tenantId,
          entityType: meta.entityType,
          entityId: meta.entityId,
          fileName: truncateFileName(file.name, 255),
          fileType,
          fileSize: blob.size,
          fileUrl: `blob:${blob.key}`,
          sha256: blob.sha256,
          category: meta.category ?? 'other',
          uploadedBy: actor.userId,
        });
        await uow.em.flush();
        const kind = KINDS[meta.entityType];
        await this.#activities.record(uow, {
          entityType: meta.entityType,
          entityId: meta.entityId,
          companyId: kind.companyOf(record),
          type: 'document.uploaded',
          title: `${actor.userName} attached ${doc.fileName}`,
          data: { documentId: doc.id, fileName: doc.fileName, fileSize: blob.size, category: doc.category },
        });
        return doc;
      });
    } catch (err) {
      await this.#blobs.remove(blob.key);
      throw err;
    }
  }

  list(actor: Actor, entityType: RecordType, entityId: string): Promise<Document[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#records.find(uow, entityType, entityId);
      return uow.em.find(
        DocumentSchema,
        { entityType, entityId, ...mailboxFilter(await visibleMailboxes(uow)) },
        { orderBy: { uploadedAt: 'desc' } },
      );
    });
  }

  /** A document the actor may see (an attachment of a mailbox they do not see is not there for them), else 404. */
  async #find(uow: UnitOfWork, id: string): Promise<Document> {
    const doc = await uow.em.findOne(DocumentSchema, { id, ...mailboxFilter(await visibleMailboxes(uow)) });
    if (!doc) throw notFound('Document');
    return doc;
  }

  async open(actor: Actor, id: string) {
    const doc = await inTenant(this.#orm, actor, (uow) => this.#find(uow, id));
    const type = doc.fileType && !ACTIVE_TYPES.test(doc.fileType) ? doc.fileType : 'application/octet-stream';
    return { doc, type, stream: this.#blobs.open(doc.fileUrl.replace(/^blob:/, '')) };
  }

  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const doc = await this.#find(uow, id);
      uow.em.remove(doc);
      await uow.em.flush();
      const record = await this.#records.find(uow, doc.entityType as RecordType, doc.entityId).catch(() => null);
      await this.#activities.record(uow, {
        entityType: doc.entityType,
        entityId: doc.entityId,
        companyId: record ? KINDS[doc.entityType as RecordType].companyOf(record) : null,
        type: 'document.deleted',
        title: `${uow.actor.userName} removed ${doc.fileName}`,
        data: { documentId: doc.id, fileName: doc.fileName },
        mailboxId: doc.mailboxId ?? null,
      });
      await audit(uow, {
        action: 'record.deleted',
        targetType: 'document',
        targetId: doc.id,
        summary: `Document deleted: ${doc.fileName}`,
        before: { fileName: doc.fileName, entityType: doc.entityType, entityId: doc.entityId },
      });
      uow.afterCommit(() => void this.#blobs.remove(doc.fileUrl.replace(/^blob:/, '')));
    });
  }
}
