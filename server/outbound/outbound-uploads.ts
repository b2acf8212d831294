// Files uploaded in the composer before the message they go with exists.
import type { Readable } from 'node:stream';
import { fileTypeFromFile } from 'file-type';
import type { MikroORM } from '../../db/orm.ts';
import { DocumentSchema } from '../../db/entities/document.entity.ts';
import { HttpError } from '../http/errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { inTenant, requireWrite, type Actor } from '../tenancy.ts';
import { truncateFileName } from '../text.ts';

/** Documents uploaded for a reply before it is sent belong to their uploader until then. */
export const UPLOAD_ENTITY = 'outbound_upload';
export const UPLOAD_MAX_BYTES = 25 * 1024 * 1024;

/** A file for a message being written (before it has a conversation, or from the agent's computer). */
export async function uploadForMessage(
  deps: { orm: MikroORM; blobs: BlobStore },
  actor: Actor,
  file: { name: string; stream: Readable },
) {
  requireWrite(actor);
  const blob = await deps.blobs.put(file.stream, { prefix: actor.tenantId, maxBytes: UPLOAD_MAX_BYTES });
  if (!blob.complete)
    throw new HttpError(413, 'payload_too_large', `Attachments are limited to ${UPLOAD_MAX_BYTES / 1024 / 1024} MB`);
  try {
    const sniffed = await fileTypeFromFile(deps.blobs.path(blob.key));
    return await inTenant(deps.orm, actor, async ({ em }) => {
      const doc = em.create(DocumentSchema, {
        tenantId: actor.tenantId,
        entityType: UPLOAD_ENTITY,
        entityId: actor.userId,
        fileName: truncateFileName(file.name, 255),
        fileType: sniffed?.mime ?? (/\.txt$/i.test(file.name) ? 'text/plain' : 'application/octet-stream'),
        fileSize: blob.size,
        fileUrl: `blob:${blob.key}`,
        sha256: blob.sha256,
        category: 'other',
        uploadedBy: actor.userId,
      });
      await em.flush();
      return { id: doc.id, fileName: doc.fileName, fileType: doc.fileType, fileSize: blob.size };
    });
  } catch (err) {
    await deps.blobs.remove(blob.key);
    throw err;
  }
}
