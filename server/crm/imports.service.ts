import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { MikroORM } from '../../db/orm.ts';
import type { CrmImport, ImportRowError, ImportType } from '#contracts/crm';
import { ImportSchema, type Import } from '../../db/entities/import.entity.ts';
import { CompanySchema } from '../../db/entities/company.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { inTenant, requireWrite, type Actor } from '../tenancy.ts';
import type { RecordsService } from './records.service.ts';
import { companyInput, contactInput } from './crm.schemas.ts';
import { truncateFileName } from '../text.ts';

export const IMPORT_MAX_BYTES = 20 * 1024 * 1024;
export const IMPORT_QUEUE = 'crm.import';

export interface ImportJob {
  importId: string;
  tenantId: string;
}
const MAX_REPORTED_ERRORS = 1000;
const PROGRESS_EVERY = 50;

/** `vat_number`, `VAT number` and `vatNumber` all name the same field. */
const camel = (header: string) =>
  header
    .trim()
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+(.)/g, (_, c: string) => c.toUpperCase())
    .replace(/[^a-zA-Z0-9]/g, '');

const LIST_FIELDS = new Set(['tags']);
const BOOLEAN_FIELDS = new Set(['isPrimary']);
const NUMBER_FIELDS = new Set(['annualRevenue']);
const ADDRESS_PARTS = ['street', 'city', 'postalCode', 'province', 'country'];

type Column = { cf: string } | { key: string };

/** What each header names, worked out once per import rather than once per row. */
const columnsOf = (header: string[]): Column[] =>
  header.map((h) => {
    const cf = h.trim().match(/^cf[._](\w+)$/i);
    return cf ? { cf: cf[1]! } : { key: camel(h) };
  });

/**
 * One CSV record (cells by column) to the API's input shape; `cf.<name>` / `cf_<name>` columns are custom fields.
 * Only the cells the record has are visited (csv-parse's `columns: true` walks every header column for each record:
 * a wide header and many short lines made that quadratic, stalling the event loop).
 */
function rowToInput(columns: Column[], cells: string[]): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const customFields: Record<string, unknown> = {};
  for (let i = 0; i < Math.min(columns.length, cells.length); i++) {
    const column = columns[i]!;
    const value = cells[i]!.trim();
    if (value === '') continue;
    if ('cf' in column) {
      customFields[column.cf] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
      continue;
    }
    const key = column.key;
    const address = key.match(/^(billing|shipping)(Street|City|PostalCode|Province|Country)$/);
    if (address) {
      const field = `${address[1]}Address`;
      const part = address[2]!.charAt(0).toLowerCase() + address[2]!.slice(1);
      if (ADDRESS_PARTS.includes(part)) ((input[field] ??= {}) as Record<string, string>)[part] = value;
    } else if (LIST_FIELDS.has(key))
      input[key] = value
        .split(/[;,]/)
        .map((t) => t.trim())
        .filter(Boolean);
    else if (BOOLEAN_FIELDS.has(key)) input[key] = /^(true|yes|si|sì|1|x)$/i.test(value);
    else if (NUMBER_FIELDS.has(key)) input[key] = value.replace(/\s/g, '').replace(',', '.');
    else input[key] = value;
  }
  if (Object.keys(customFields).length) input.customFields = customFields;
  return input;
}

/** An import as the API answers it: where its file is stored (a blob key) and its workspace stay inside. */
export function importDto(job: Import): CrmImport {
  return {
    id: job.id,
    createdAt: job.createdAt.toISOString(),
    entityType: job.entityType,
    fileName: job.fileName,
    status: job.status,
    totalRows: job.totalRows,
    processedRows: job.processedRows,
    createdRows: job.createdRows,
    errors: job.errors,
    failure: job.failure ?? null,
    createdBy: job.createdBy ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/**
 * CSV imports of companies and contacts, run by a job: good rows are created (with their timeline entries),
 * bad rows are reported with their line numbers, and progress is visible while it runs.
 */
export class ImportsService {
  readonly #orm: MikroORM;
  readonly #blobs: BlobStore;
  readonly #records: RecordsService;
  readonly #queue: JobQueue;

  constructor(orm: MikroORM, blobs: BlobStore, records: RecordsService, queue: JobQueue) {
    this.#orm = orm;
    this.#blobs = blobs;
    this.#records = records;
    this.#queue = queue;
  }

  async create(actor: Actor, entityType: ImportType, file: { name: string; stream: Readable }) {
    requireWrite(actor);
    const blob = await this.#blobs.put(file.stream, {
      prefix: `${actor.tenantId}/imports`,
      maxBytes: IMPORT_MAX_BYTES,
    });
    if (!blob.complete)
      throw new HttpError(413, 'payload_too_large', `CSV files are limited to ${IMPORT_MAX_BYTES / 1024 / 1024} MB`);
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const created = em.create(ImportSchema, {
        tenantId: actor.tenantId,
        entityType,
        fileName: truncateFileName(file.name, 255),
        fileUrl: `blob:${blob.key}`,
        createdBy: actor.userId,
        errors: [],
        failure: null,
        finishedAt: null,
      });
      await em.flush();
      // In the same transaction: an import row never waits for a job that was not queued.
      const job: ImportJob = { importId: created.id, tenantId: actor.tenantId };
      await this.#queue.send(IMPORT_QUEUE, job, { uow, singletonKey: created.id });
      return created;
    });
  }

  get(actor: Actor, id: string): Promise<Import> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const row = await em.findOne(ImportSchema, { id });
      if (!row) throw notFound('Import');
      return row;
    });
  }

  /** The job: runs once per import; a re-run after a crash continues from the first unprocessed line. */
  async run(importId: string, tenantId: string, actorFor: (userId: string) => Promise<Actor | null>): Promise<Import> {
    const system: Actor = { tenantId, userId: '', userName: 'Import', role: 'admin', scope: 'full' };
    const job = await inTenant(this.#orm, system, ({ em }) => em.findOne(ImportSchema, { id: importId }));
    if (!job || job.status === 'completed' || job.status === 'failed') return job!;
    const actor = job.createdBy ? await actorFor(job.createdBy) : null;
    const save = (patch: Partial<Import>) =>
      inTenant(this.#orm, system, ({ em }) => em.nativeUpdate(ImportSchema, { id: importId }, patch));
    if (!actor) {
      await save({
        status: 'failed',
        failure: 'The member who started this import left the workspace',
        finishedAt: new Date(),
      });
      return { ...job, status: 'failed' };
    }
    const schema = job.entityType === 'company' ? companyInput : contactInput;
    const errors: ImportRowError[] = [...job.errors];
    let processed = job.processedRows;
    let created = job.createdRows;
    const companies = new Map<string, string | null>();
    try {
      const total = await this.#countRows(job.fileUrl);
      await save({ status: 'running', totalRows: total });
      let line = 0;
      let columns: Column[] | null = null;
      for await (const record of this.#csvRecords(job.fileUrl)) {
        line++;
        if (!columns) {
          columns = columnsOf(record);
          continue;
        }
        if (line - 1 <= processed) continue;
        const input = rowToInput(columns, record);
        if (job.entityType === 'contact' && typeof input.company === 'string' && !input.companyId) {
          const name = input.company;
          if (!companies.has(name)) {
            const found = await inTenant(this.#orm, actor, ({ em }) => em.findOne(CompanySchema, { name }));
            companies.set(name, found?.id ?? null);
          }
          input.companyId = companies.get(name);
          if (!input.companyId) {
            if (errors.length < MAX_REPORTED_ERRORS)
              errors.push({ line, message: `No company named "${name}"`, fields: { company: 'not found' } });
            processed++;
            continue;
          }
          delete input.company;
        }
        const parsed = schema.safeParse(input);
        if (!parsed.success) {
          if (errors.length < MAX_REPORTED_ERRORS)
            errors.push({
              line,
              message: 'Invalid row',
              fields: Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || 'row', i.message])),
            });
        } else {
          try {
            await this.#records.create(actor, job.entityType, parsed.data as Record<string, unknown>);
            created++;
          } catch (err) {
            if (!(err instanceof HttpError)) throw err;
            if (errors.length < MAX_REPORTED_ERRORS)
              errors.push({ line, message: err.message, ...(err.fields ? { fields: err.fields } : {}) });
          }
        }
        processed++;
        if (processed % PROGRESS_EVERY === 0) await save({ processedRows: processed, createdRows: created, errors });
      }
      await save({
        status: 'completed',
        processedRows: processed,
        createdRows: created,
        errors,
        finishedAt: new Date(),
      });
    } catch (err) {
      await save({
        status: 'failed',
        processedRows: processed,
        createdRows: created,
        errors,
        failure: (err as Error).message.slice(0, 1000),
        finishedAt: new Date(),
      });
    }
    return inTenant(this.#orm, system, async ({ em }) => (await em.findOne(ImportSchema, { id: importId }))!);
  }

  /** The file's records as arrays of cells, the header first. */
  #csvRecords(fileUrl: string): AsyncIterable<string[]> {
    return this.#blobs
      .open(fileUrl.replace(/^blob:/, ''))
      .pipe(parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: false }));
  }

  async #countRows(fileUrl: string): Promise<number> {
    let rows = -1; // the header
    for await (const _ of this.#csvRecords(fileUrl)) rows++;
    return Math.max(0, rows);
  }
}
