import busboy from 'busboy';
import type { Request, Response } from 'express';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { HttpError, notFound, validationError } from '../http/errors.ts';
import type { ApiRouter } from '../http/routes.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';
import type { Readable } from 'node:stream';
import { crmImport, importType, type ImportType } from '#contracts/crm';
import {
  IMPORT_TARGETS,
  importLang,
  importMapping,
  importPreview,
  onDuplicate,
  type ImportMapping,
} from '#contracts/crm-imports';
import { parseQuery } from '../http/validate.ts';
import type { ListPage, RecordRow } from './records.service.ts';
import { importDto } from './imports.service.ts';
import { PREVIEW_MAX_BYTES } from './import-preview.ts';
import { uuid } from './crm.schemas.ts';

const importFields = z.object({
  entityType: importType,
  /** JSON: the target of each column, from the mapping step; absent = guessed from the header. */
  mapping: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return null;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(importMapping.nullable()),
  onDuplicate: onDuplicate.default('skip'),
});
const langQuery = z.object({ lang: importLang.default('en') });

/** Each field fed by at most one column; companies need a name, contacts a name (full, or first and last). */
function checkMapping(type: ImportType, mapping: ImportMapping | null): void {
  if (!mapping) return;
  const targets = mapping.filter((t): t is string => t !== null);
  const known = new Set<string>(IMPORT_TARGETS[type]);
  const bad = targets.find((t) => !t.startsWith('cf.') && !known.has(t));
  const twice = targets.find((t, i) => targets.indexOf(t) !== i);
  const named = type === 'company' ? targets.includes('name') : targets.some((t) => /Name$/.test(t));
  const problem = bad
    ? `"${bad}" is not a field of a ${type}`
    : twice
      ? `"${twice}" is fed by more than one column`
      : !named
        ? 'map a column to the name'
        : null;
  if (problem) throw new HttpError(400, 'validation_failed', 'The column mapping is not valid', { mapping: problem });
}

/**
 * A refusal made while the upload still streams is answered once the parser closes, a later tick: marked handled now,
 * or the process sees an unhandled rejection in between (and a test run fails on it).
 */
function held<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * multipart/form-data: `entityType` (company | contact), optionally `mapping` (JSON) and `onDuplicate`, then `file`
 * (CSV with a header row). `preview` reads only the file's first rows and keeps nothing.
 */
function receiveImport<T>(
  req: Request,
  start: (meta: z.infer<typeof importFields>, file: { name: string; stream: Readable }) => Promise<T>,
  fileSize?: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fields: 5, fieldSize: 64 * 1024, ...(fileSize ? { fileSize } : {}) },
      });
    } catch {
      return reject(new HttpError(415, 'unsupported_media_type', 'Send the CSV as multipart/form-data'));
    }
    const fields: Record<string, string> = {};
    let started: Promise<T> | undefined;
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (_name, stream, info) => {
      // A body cut short errors this stream too: the parser's error answers the request.
      stream.on('error', () => {});
      const meta = importFields.safeParse(fields);
      if (!meta.success) {
        stream.resume();
        started = held(Promise.reject(validationError(meta.error, 'body')));
        return;
      }
      try {
        checkMapping(meta.data.entityType, meta.data.mapping);
      } catch (err) {
        stream.resume();
        started = held(Promise.reject(err as Error));
        return;
      }
      started = held(start(meta.data, { name: info.filename || 'import.csv', stream }));
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
    '/imports/preview',
    {
      summary:
        "A CSV file's header and first rows, with the field proposed for each column (multipart/form-data: entityType, then file; only the first rows are read, nothing is kept)",
      query: langQuery,
      response: importPreview,
    },
    async (req, res) => {
      const { lang } = parseQuery(langQuery, req);
      const actor = actorOf(req);
      res.json(
        await receiveImport(
          req,
          (meta, file) => s.imports.preview(actor, meta.entityType, file.stream, lang),
          PREVIEW_MAX_BYTES,
        ),
      );
    },
  );
  r.post(
    '/imports',
    {
      summary:
        'Start a CSV import (multipart/form-data: entityType, mapping (JSON, one target per column), onDuplicate (skip | update), then file); poll it for progress',
      response: crmImport,
      status: 202,
    },
    async (req, res) => {
      const actor = actorOf(req);
      const job = await receiveImport(req, (meta, file) =>
        s.imports.create(actor, meta.entityType, file, { mapping: meta.mapping, onDuplicate: meta.onDuplicate }),
      );
      res.status(202).json(importDto(job));
    },
  );
  r.get(
    '/imports/:id',
    {
      summary: "An import's progress and row errors (worded in `lang`)",
      query: langQuery,
      response: crmImport,
    },
    async (req, res) => {
      const id = uuid.safeParse(req.params.id);
      if (!id.success) throw notFound('Import');
      res.json(await s.imports.view(actorOf(req), id.data, parseQuery(langQuery, req).lang));
    },
  );
  r.get(
    '/imports/:id/rejected.csv',
    {
      summary: 'The rows an import did not take, as in the file, with an error column (worded in `lang`)',
      query: langQuery,
      response: { file: 'text/csv' },
    },
    async (req, res) => {
      const id = uuid.safeParse(req.params.id);
      if (!id.success) throw notFound('Import');
      const actor = actorOf(req);
      const { lang } = parseQuery(langQuery, req);
      const job = await s.imports.get(actor, id.data);
      const rows = s.imports.rejectedRows(actor, id.data, lang);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.attachment(`${job.fileName.replace(/\.csv$/i, '')}-rejected.csv`);
      const csv = stringify({ bom: true });
      csv.pipe(res);
      for await (const row of rows) if (!csv.write(row.map(inertCell))) await new Promise((r) => csv.once('drain', r));
      csv.end();
    },
  );
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
