import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { MikroORM } from '../../db/orm.ts';
import { normalizeUrl, type CrmImport, type ImportRowError, type ImportType } from '#contracts/crm';
import type { ImportLang, ImportMapping, ImportPreview, OnDuplicate } from '#contracts/crm-imports';
import { ImportSchema, type Import } from '../../db/entities/import.entity.ts';
import { CustomFieldSchema } from '../../db/entities/custom-field.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { inTenant, requireWrite, type Actor } from '../tenancy.ts';
import type { RecordsService } from './records.service.ts';
import { companyInput, companyPatch, contactInput, contactPatch } from './crm.schemas.ts';
import { truncateFileName } from '../text.ts';
import { guessMapping, importFields, rowMessage, type CustomFieldRef } from './import-fields.ts';
import { readPreview } from './import-preview.ts';
import {
  companyKey,
  hostKey,
  mapRow,
  problem,
  problemsOfFields,
  problemsOfIssues,
  type MappedRow,
} from './import-rows.ts';

export const IMPORT_MAX_BYTES = 20 * 1024 * 1024;
export const IMPORT_QUEUE = 'crm.import';

export interface ImportJob {
  importId: string;
  tenantId: string;
}
const MAX_REPORTED_ERRORS = 1000;
const PROGRESS_EVERY = 50;

/** An import as the API answers it, its row messages in `lang`: its file's place and its workspace stay inside. */
export function importDto(job: Import, lang: ImportLang = 'en', custom: CustomFieldRef[] = []): CrmImport {
  return {
    id: job.id,
    createdAt: job.createdAt.toISOString(),
    entityType: job.entityType,
    fileName: job.fileName,
    status: job.status,
    totalRows: job.totalRows,
    processedRows: job.processedRows,
    createdRows: job.createdRows,
    updatedRows: job.updatedRows,
    skippedRows: job.skippedRows,
    onDuplicate: job.onDuplicate,
    errors: job.errors.map((e) =>
      e.problems?.length ? { ...e, message: rowMessage(e.line, e.problems, lang, custom) } : e,
    ),
    failure: job.failure ?? null,
    createdBy: job.createdBy ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/** The records already in the workspace, by their duplicate keys (and those the import creates as it goes). */
interface Known {
  byName: Map<string, string>;
  byHost: Map<string, string>;
  byEmail: Map<string, string>;
}

/**
 * CSV imports of companies and contacts, run by a job: each column feeds the field the user mapped it to, good rows
 * are created (with their timeline entries), duplicates (by company name or domain, contact email; in the file or
 * already stored) are skipped or update the record, bad rows are reported with their line numbers and what is wrong.
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

  /** The workspace's custom fields of that record type, for the mapping and for the labels in messages. */
  customFields(actor: Actor, entityType: ImportType): Promise<CustomFieldRef[]> {
    return inTenant(this.#orm, actor, async ({ em }) =>
      (await em.find(CustomFieldSchema, { entityType }, { orderBy: { displayOrder: 'asc' } })).map((d) => ({
        fieldName: d.fieldName,
        fieldLabel: d.fieldLabel,
      })),
    );
  }

  /** The header and first rows of a file, with a proposed target for each column (nothing is stored). */
  async preview(actor: Actor, entityType: ImportType, stream: Readable, lang: ImportLang): Promise<ImportPreview> {
    requireWrite(actor);
    const { header, rows, more } = await readPreview(stream);
    const custom = await this.customFields(actor, entityType);
    const guessed = guessMapping(entityType, header, custom);
    return {
      entityType,
      columns: header.map((h, i) => ({ header: h, field: guessed[i] ?? null })),
      rows,
      fields: importFields(entityType, lang, custom),
      more,
    };
  }

  async create(
    actor: Actor,
    entityType: ImportType,
    file: { name: string; stream: Readable },
    options: { mapping?: ImportMapping | null; onDuplicate?: OnDuplicate } = {},
  ) {
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
        mapping: options.mapping ?? null,
        onDuplicate: options.onDuplicate ?? 'skip',
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

  /** The import as the API answers it, its row messages in `lang`. */
  async view(actor: Actor, id: string, lang: ImportLang): Promise<CrmImport> {
    const row = await this.get(actor, id);
    const custom = row.errors.length ? await this.customFields(actor, row.entityType) : [];
    return importDto(row, lang, custom);
  }

  /**
   * The rows that were not imported, as in the file, after the header and with an error column in `lang` (the
   * header's own error cell reads "Error"). Reads the stored file again: nothing of the rows is kept elsewhere.
   */
  async *rejectedRows(actor: Actor, id: string, lang: ImportLang): AsyncGenerator<string[]> {
    const view = await this.view(actor, id, lang);
    const row = await this.get(actor, id);
    const byLine = new Map(view.errors.map((e) => [e.line, e.message]));
    let line = 0;
    for await (const record of this.#csvRecords(row.fileUrl)) {
      line++;
      if (line === 1) yield [...record, lang === 'it' ? 'Errore' : 'Error'];
      else if (byLine.has(line)) yield [...record, byLine.get(line)!];
    }
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
    const type = job.entityType;
    const errors: ImportRowError[] = [...job.errors];
    const counts = {
      processedRows: job.processedRows,
      createdRows: job.createdRows,
      updatedRows: job.updatedRows,
      skippedRows: job.skippedRows,
    };
    const reject = (line: number, problems: ReturnType<typeof problem>[], fields: Record<string, string>) => {
      if (errors.length < MAX_REPORTED_ERRORS)
        errors.push({ line, message: rowMessage(line, problems, 'en', []), fields, problems });
    };
    try {
      const total = await this.#countRows(job.fileUrl);
      await save({ status: 'running', totalRows: total });
      const known = await this.#known(actor, type);
      let line = 0;
      let mapping: (string | null)[] | null = job.mapping ?? null;
      for await (const record of this.#csvRecords(job.fileUrl)) {
        line++;
        if (line === 1) {
          mapping ??= guessMapping(type, record, await this.customFields(actor, type));
          continue;
        }
        if (line - 1 <= counts.processedRows) continue;
        const outcome = await this.#importRow(actor, type, job.onDuplicate, mapRow(mapping!, record), known);
        if (outcome === 'created') counts.createdRows++;
        else if (outcome === 'updated') counts.updatedRows++;
        else if (outcome === 'skipped') counts.skippedRows++;
        else reject(line, outcome.problems, outcome.fields);
        counts.processedRows++;
        if (counts.processedRows % PROGRESS_EVERY === 0) await save({ ...counts, errors });
        // Rows refused without a query never wait: let requests in between them.
        else if (counts.processedRows % 10 === 0) await new Promise((r) => setImmediate(r));
      }
      await save({ status: 'completed', ...counts, errors, finishedAt: new Date() });
    } catch (err) {
      await save({
        status: 'failed',
        ...counts,
        errors,
        failure: (err as Error).message.slice(0, 1000),
        finishedAt: new Date(),
      });
    }
    return inTenant(this.#orm, system, async ({ em }) => (await em.findOne(ImportSchema, { id: importId }))!);
  }

  /** One row: created, a duplicate skipped or updated, or refused with its problems. */
  async #importRow(
    actor: Actor,
    type: ImportType,
    onDuplicate: OnDuplicate,
    { input, raw }: MappedRow,
    known: Known,
  ): Promise<
    'created' | 'updated' | 'skipped' | { problems: ReturnType<typeof problem>[]; fields: Record<string, string> }
  > {
    if (type === 'contact' && typeof input.company === 'string') {
      const companyId = known.byName.get(companyKey(input.company));
      if (!companyId)
        return { problems: [problem('company', 'company_not_found', input.company)], fields: { company: 'not found' } };
      input.companyId = companyId;
      delete input.company;
    }
    const name = typeof input.name === 'string' ? companyKey(input.name) : '';
    const host = hostKey(typeof input.website === 'string' ? normalizeUrl(input.website) : null);
    const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : '';
    const existing =
      type === 'company'
        ? ((name && known.byName.get(name)) ?? (host && known.byHost.get(host)) ?? null)
        : ((email && known.byEmail.get(email)) ?? null);
    if (existing && onDuplicate === 'skip') return 'skipped';
    if (type === 'company' && !existing) input.type ??= 'client';
    const schema = existing
      ? type === 'company'
        ? companyPatch
        : contactPatch
      : type === 'company'
        ? companyInput
        : contactInput;
    const parsed = schema.safeParse(input);
    if (!parsed.success)
      return {
        problems: problemsOfIssues(parsed.error.issues, raw),
        fields: Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || 'row', i.message])),
      };
    try {
      const data = parsed.data as Record<string, unknown>;
      if (existing) {
        await this.#records.update(actor, type, existing, data);
        return 'updated';
      }
      const row = await this.#records.create(actor, type, data);
      if (name) known.byName.set(name, row.id);
      if (host) known.byHost.set(host, row.id);
      if (email) known.byEmail.set(email, row.id);
      return 'created';
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      const fields = err.fields ?? { row: err.message };
      return { problems: problemsOfFields(fields, raw), fields };
    }
  }

  /** The duplicate keys of what is stored: companies by name and domain (contacts link to them), contacts by email. */
  async #known(actor: Actor, type: ImportType): Promise<Known> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const known: Known = { byName: new Map(), byHost: new Map(), byEmail: new Map() };
      const companies = (await em.execute(`select id, name, website from companies order by created_at`)) as {
        id: string;
        name: string;
        website: string | null;
      }[];
      for (const c of companies) {
        const key = companyKey(c.name);
        if (key && !known.byName.has(key)) known.byName.set(key, c.id);
        const host = hostKey(c.website);
        if (host && !known.byHost.has(host)) known.byHost.set(host, c.id);
      }
      if (type === 'contact') {
        const contacts = (await em.execute(
          `select id, lower(email) as email from contacts where email is not null order by created_at`,
        )) as { id: string; email: string }[];
        for (const c of contacts) if (!known.byEmail.has(c.email)) known.byEmail.set(c.email, c.id);
      }
      return known;
    });
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
