import busboy from 'busboy';
import type { Request, Response } from 'express';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { HttpError, notFound, validationError } from '../http/errors.ts';
import type { ApiRouter } from '../http/routes.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';
import { crmImport, importType, type ImportType } from '#contracts/crm';
import type { Import } from '../../db/entities/import.entity.ts';
import type { ListPage, RecordRow } from './records.service.ts';
import { importDto } from './imports.service.ts';
import { uuid } from './crm.schemas.ts';

const importFields = z.object({ entityType: importType });

/** multipart/form-data: `entityType` (company | contact), then `file` (CSV with a header row). */
function receiveImport(req: Request, s: Services): Promise<Import> {
  const actor = actorOf(req);
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fields: 5, fieldSize: 100 } });
    } catch {
      return reject(new HttpError(415, 'unsupported_media_type', 'Send the CSV as multipart/form-data'));
    }
    const fields: Record<string, string> = {};
    let started: Promise<Import> | undefined;
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (_name, stream, info) => {
      // A body cut short errors this stream too: the parser's error answers the request.
      stream.on('error', () => {});
      const meta = importFields.safeParse(fields);
      if (!meta.success) {
        stream.resume();
        started = Promise.reject(validationError(meta.error, 'body'));
        return;
      }
      started = s.imports.create(actor, meta.data.entityType, { name: info.filename || 'import.csv', stream });
    });
    parser.on('error', (err) => reject(new HttpError(400, 'invalid_multipart', (err as Error).message)));
    parser.on('close', () => {
      if (!started)
        return reject(new HttpError(400, 'validation_failed', 'No file in the upload', { file: 'is required' }));
      started.then(resolve, reject);
    });
    req.pipe(parser);
  });
}

export const EXPORT_COLUMNS: Record<ImportType, string[]> = {
  company: [
    'id',
    'name',
    'type',
    'status',
    'vatNumber',
    'taxCode',
    'website',
    'industry',
    'size',
    'annualRevenue',
    'tags',
    'createdAt',
    'updatedAt',
  ],
  contact: [
    'id',
    'companyId',
    'firstName',
    'lastName',
    'email',
    'phone',
    'mobile',
    'role',
    'department',
    'isPrimary',
    'birthday',
    'linkedinUrl',
    'tags',
    'status',
    'createdAt',
  ],
};

// A cell a spreadsheet would run as a formula (or a number, which is harmless and kept as it is).
const FORMULA = /^[=+\-@\t\r]/;
const NUMBER = /^-?\d+(\.\d+)?$/;
/** A text cell made inert: prefixed with an apostrophe, as OWASP advises for CSV injection. */
export const inertCell = (text: string) => (FORMULA.test(text) && !NUMBER.test(text) ? `'${text}` : text);

const cell = (value: unknown) =>
  value == null
    ? ''
    : Array.isArray(value)
      ? inertCell(value.join(';'))
      : value instanceof Date
        ? value.toISOString()
        : inertCell(String(value));

export function importRoutes(r: ApiRouter, s: Services): void {
  r.post(
    '/imports',
    {
      summary: 'Start a CSV import (multipart/form-data: entityType, then file); poll it for progress',
      response: crmImport,
      status: 202,
    },
    async (req, res) => {
      res.status(202).json(importDto(await receiveImport(req, s)));
    },
  );
  r.get('/imports/:id', { summary: "An import's progress and row errors", response: crmImport }, async (req, res) => {
    const id = uuid.safeParse(req.params.id);
    if (!id.success) throw notFound('Import');
    res.json(importDto(await s.imports.get(actorOf(req), id.data)));
  });
}

/** Streams every row of a filtered list as CSV, page by page (never the whole list in memory). */
export function exportCsv(
  type: ImportType,
  fileName: string,
  pages: (req: Request, cursor: string | undefined) => Promise<ListPage<RecordRow>>,
) {
  return async (req: Request, res: Response) => {
    let page = await pages(req, undefined);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.attachment(fileName);
    const csv = stringify({ header: true, columns: EXPORT_COLUMNS[type], bom: true });
    csv.pipe(res);
    for (;;) {
      for (const row of page.items) {
        const line = EXPORT_COLUMNS[type].map((c) => cell(row[c]));
        if (!csv.write(line)) await new Promise((r) => csv.once('drain', r));
      }
      if (!page.nextCursor) break;
      page = await pages(req, page.nextCursor);
    }
    csv.end();
  };
}
