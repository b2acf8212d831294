import type { Request } from 'express';
import { z } from 'zod';
import { recordType } from '#contracts/common';
import { crmDocument, documentCategory, documentList } from '#contracts/crm';
import { notFound, validationError } from '../http/errors.ts';
import type { ApiRouter } from '../http/routes.ts';
import { parseQuery } from '../http/validate.ts';
import { receiveFile } from '../http/upload.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import { visibleBidi } from '../text.ts';
import type { Services } from '../services.ts';
import { documentDto } from './documents.service.ts';
import type { Document } from '../../db/entities/document.entity.ts';
import { uuid } from './crm.schemas.ts';

const uploadFields = z.object({ entityType: recordType, entityId: uuid, category: documentCategory.optional() });
const listQuery = z.object({ entityType: recordType, entityId: uuid });

/**
 * multipart/form-data with the fields `entityType`, `entityId`, optional `category`, then one `file`
 * (fields first, as browsers send a FormData built in that order). The file streams straight to storage.
 */
function receiveUpload(req: Request, s: Services): Promise<Document> {
  const actor = actorOf(req);
  return receiveFile(req, (fields, file) => {
    const meta = uploadFields.safeParse(fields);
    if (!meta.success) throw validationError(meta.error, 'body');
    return s.documents.upload(actor, meta.data, file);
  });
}

export function documentRoutes(r: ApiRouter, s: Services): void {
  r.post(
    '/documents',
    {
      summary: 'Attach a file to a record (multipart/form-data: entityType, entityId, category?, then file)',
      response: crmDocument,
      status: 201,
    },
    async (req, res) => {
      res.status(201).json(documentDto(await receiveUpload(req, s)));
    },
  );
  r.get(
    '/documents',
    { summary: "A record's documents, newest first", query: listQuery, response: documentList },
    async (req, res) => {
      const q = parseQuery(listQuery, req);
      res.json({ items: (await s.documents.list(actorOf(req), q.entityType, q.entityId)).map(documentDto) });
    },
  );
  const bytes = { file: 'application/octet-stream' } as const;
  r.get(
    '/documents/:id/download',
    { summary: "A document's bytes, as a download", response: bytes },
    async (req, res) => {
      const id = uuid.safeParse(req.params.id);
      if (!id.success) throw notFound('Document');
      const { doc, type, stream } = await s.documents.open(actorOf(req), id.data);
      // attachment() guesses a type from the name: ours (from the bytes, never SVG/HTML) is set after it.
      res.attachment(visibleBidi(doc.fileName));
      res.setHeader('Content-Type', type);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    },
  );
  r.delete('/documents/:id', { summary: 'Delete a document', response: 'empty' }, async (req, res) => {
    const id = uuid.safeParse(req.params.id);
    if (!id.success) throw notFound('Document');
    await s.documents.remove(actorOf(req), id.data);
    res.status(204).end();
  });
}
