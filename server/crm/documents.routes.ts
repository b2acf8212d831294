import type { Request } from 'express';
import { z } from 'zod';
import { DOCUMENT_CATEGORIES } from '../../db/entities/document.entity.ts';
import { notFound, validationError } from '../http/errors.ts';
import type { ApiRouter } from '../http/routes.ts';
import { parseQuery } from '../http/validate.ts';
import { receiveFile } from '../http/upload.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import { visibleBidi } from '../text.ts';
import type { Services } from '../services.ts';
import type { Document } from '../../db/entities/document.entity.ts';
import { uuid } from './crm.schemas.ts';

const uploadFields = z.object({
  entityType: z.enum(['company', 'contact', 'deal']),
  entityId: uuid,
  category: z.enum(DOCUMENT_CATEGORIES).optional(),
});

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
  r.post('/documents', async (req, res) => {
    res.status(201).json(await receiveUpload(req, s));
  });
  r.get('/documents', async (req, res) => {
    const q = parseQuery(z.object({ entityType: z.enum(['company', 'contact', 'deal']), entityId: uuid }), req);
    res.json({ items: await s.documents.list(actorOf(req), q.entityType, q.entityId) });
  });
  r.get('/documents/:id/download', async (req, res) => {
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
  });
  r.delete('/documents/:id', async (req, res) => {
    const id = uuid.safeParse(req.params.id);
    if (!id.success) throw notFound('Document');
    await s.documents.remove(actorOf(req), id.data);
    res.status(204).end();
  });
}
