import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import type { ImportRowError } from '#contracts/crm';
import { BLOCKING_CONSENT_STATUSES, type ConsentStatus } from '#contracts/consent';
import { SUBSCRIBER_COLUMNS, type SubscriberColumn, type SubscriberImport } from '#contracts/newsletter-lists';
import {
  SubscriberImportSchema,
  type SubscriberImport as ImportRow,
} from '../../db/entities/subscriber-import.entity.ts';
import type { ConsentService } from '../consent/consent.service.ts';
import type { RecordsService } from '../crm/records.service.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import { truncateFileName } from '../text.ts';
import { findList } from './lists.service.ts';
import { pgArray } from './segments.ts';

export const SUBSCRIBER_IMPORT_MAX_BYTES = 20 * 1024 * 1024;
export const SUBSCRIBER_IMPORT_QUEUE = 'newsletters.subscriber-import';
export interface SubscriberImportJob {
  importId: string;
  tenantId: string;
}

const MAX_REPORTED_ERRORS = 1000;
/** Rows per transaction: a crash re-runs at most one chunk, and progress shows at this step. */
const CHUNK = 200;

/** CSV header -> subscriber column; exactly one header feeds `email`. */
export const importMapping = z
  .record(z.string().max(200), z.enum(SUBSCRIBER_COLUMNS))
  .refine((m) => Object.keys(m).length <= 50, 'too many columns')
  .refine((m) => Object.values(m).filter((c) => c === 'email').length === 1, 'map exactly one column to email')
  .refine((m) => new Set(Object.values(m)).size === Object.values(m).length, 'map each column at most once');
export type ImportMapping = z.infer<typeof importMapping>;

const email = z.email().max(255);

export function subscriberImportDto(row: ImportRow): SubscriberImport {
  return {
    id: row.id,
    listId: row.listId,
    fileName: row.fileName,
    status: row.status,
    totalRows: row.totalRows,
    processedRows: row.processedRows,
    createdRows: row.createdRows,
    skippedRows: row.skippedRows,
    errors: row.errors,
    failure: row.failure ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/** One CSV row, by subscriber column. */
type Row = { line: number } & Partial<Record<SubscriberColumn, string>>;

/**
 * CSV imports of subscribers into a static list, run by a job: unknown addresses become CRM contacts (one per
 * address, case-insensitive), each row is subscribed with the file's consent evidence (source `import`), bad rows
 * are reported by line, and an address that unsubscribed, bounced or complained is skipped, never re-subscribed.
 */
export class SubscriberImports {
  readonly #orm: MikroORM;
  readonly #blobs: BlobStore;
  readonly #queue: JobQueue;
  readonly #consent: ConsentService;
  readonly #records: RecordsService;

  constructor(deps: {
    orm: MikroORM;
    blobs: BlobStore;
    queue: JobQueue;
    consent: ConsentService;
    records: RecordsService;
  }) {
    this.#orm = deps.orm;
    this.#blobs = deps.blobs;
    this.#queue = deps.queue;
    this.#consent = deps.consent;
    this.#records = deps.records;
  }

  async create(actor: Actor, listId: string, mapping: ImportMapping, file: { name: string; stream: Readable }) {
    requireWrite(actor);
    // The list is checked before the upload is kept: another workspace's id is a 404 with nothing stored.
    await inTenant(this.#orm, actor, async ({ em }) => {
      const list = await findList(em, listId);
      if (list.kind !== 'static')
        throw new HttpError(409, 'segment_list', "A segment's members are the contacts its filter matches");
    });
    const blob = await this.#blobs.put(file.stream, {
      prefix: `${actor.tenantId}/subscriber-imports`,
      maxBytes: SUBSCRIBER_IMPORT_MAX_BYTES,
    });
    if (!blob.complete) {
      await this.#blobs.remove(blob.key);
      throw new HttpError(
        413,
        'payload_too_large',
        `CSV files are limited to ${SUBSCRIBER_IMPORT_MAX_BYTES / 1024 / 1024} MB`,
      );
    }
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      await findList(em, listId, { lock: true });
      const row = em.create(SubscriberImportSchema, {
        tenantId: actor.tenantId,
        listId,
        fileName: truncateFileName(file.name, 255),
        fileUrl: `blob:${blob.key}`,
        mapping,
        createdBy: actor.system ? null : actor.userId,
        errors: [],
        failure: null,
        finishedAt: null,
      });
      await em.flush();
      // In the same transaction: an import row never waits for a job that was not queued.
      const job: SubscriberImportJob = { importId: row.id, tenantId: actor.tenantId };
      await this.#queue.send(SUBSCRIBER_IMPORT_QUEUE, job, { uow, singletonKey: row.id });
      return row;
    });
  }

  get(actor: Actor, listId: string, id: string): Promise<ImportRow> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const row = await em.findOne(SubscriberImportSchema, { id, listId });
      if (!row) throw notFound('Import');
      return row;
    });
  }

  /** The job: chunks of rows, each committed with its progress, so a re-run after a crash continues after it. */
  async run(importId: string, tenantId: string, actorFor: (userId: string) => Promise<Actor | null>) {
    const system = systemActor(tenantId, 'Import');
    const load = () =>
      inTenant(this.#orm, system, ({ em }) => em.findOne(SubscriberImportSchema, { id: importId }, { refresh: true }));
    const job = await load();
    if (!job || job.status === 'completed' || job.status === 'failed') return job;
    const save = (patch: Partial<ImportRow>) =>
      inTenant(this.#orm, system, ({ em }) => em.nativeUpdate(SubscriberImportSchema, { id: importId }, patch));
    const actor = job.createdBy ? await actorFor(job.createdBy) : null;
    if (!actor) {
      await save({
        status: 'failed',
        failure: 'The member who started this import left the workspace',
        finishedAt: new Date(),
      });
      return load();
    }
    try {
      await save({ status: 'running', totalRows: await this.#countRows(job.fileUrl) });
      let chunk: Row[] = [];
      let seen = 0;
      let columns: (SubscriberColumn | undefined)[] | null = null;
      let line = 0;
      for await (const record of this.#records_(job.fileUrl)) {
        line++;
        if (!columns) {
          columns = record.map((h) => job.mapping[h.trim()] as SubscriberColumn | undefined);
          continue;
        }
        if (seen++ < job.processedRows) continue;
        const row: Row = { line };
        columns.forEach((c, i) => {
          const v = record[i]?.trim();
          if (c && v) row[c] = v;
        });
        chunk.push(row);
        if (chunk.length === CHUNK) {
          await this.#chunk(actor, importId, job.listId, chunk);
          chunk = [];
        }
      }
      if (chunk.length) await this.#chunk(actor, importId, job.listId, chunk);
      await save({ status: 'completed', finishedAt: new Date() });
    } catch (err) {
      await save({ status: 'failed', failure: (err as Error).message.slice(0, 1000), finishedAt: new Date() });
    }
    return load();
  }

  /** One transaction: the rows' contacts and consents, and the import's progress with them. */
  async #chunk(actor: Actor, importId: string, listId: string, rows: Row[]): Promise<void> {
    await inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const [job] = (await em.execute(
        `select processed_rows, created_rows, skipped_rows, errors from subscriber_imports where id = ? for update`,
        [importId],
      )) as { processed_rows: number; created_rows: number; skipped_rows: number; errors: ImportRowError[] }[];
      const errors = job!.errors;
      let created = 0;
      let skipped = 0;
      const report = (e: ImportRowError) => {
        if (errors.length < MAX_REPORTED_ERRORS) errors.push(e);
      };
      const valid: (Row & { address: string; date: Date | null })[] = [];
      for (const row of rows) {
        const problem = this.#check(row);
        if (typeof problem === 'string') report({ line: row.line, message: problem, fields: rowFields(row) });
        else valid.push({ ...row, ...problem });
      }
      const addresses = [...new Set(valid.map((r) => r.address))];
      const contacts = await this.#contactsByEmail(uow, addresses);
      const states = await this.#states(uow, listId, addresses);
      const companies = new Map<string, string | null>();
      const done = new Set<string>();
      for (const row of valid) {
        if (done.has(row.address)) {
          report({ line: row.line, message: 'This address is already on an earlier line', fields: rowFields(row) });
          continue;
        }
        done.add(row.address);
        const state = states.get(this.#consent.hash('email', row.address));
        if (state?.blocked) {
          skipped++;
          report({
            line: row.line,
            message: `Skipped: ${state.blocked} (never re-subscribed by an import)`,
            fields: { email: row.address },
          });
          continue;
        }
        let contactId = contacts.get(row.address);
        if (!contactId) {
          const companyId = row.company ? await this.#company(uow, companies, row.company) : null;
          const contact = await this.#records.createIn(uow, 'contact', {
            firstName: (row.first_name ?? row.address.split('@')[0]!).slice(0, 100),
            lastName: (row.last_name ?? '').slice(0, 100),
            email: row.address,
            companyId,
          });
          contactId = contact.id;
          contacts.set(row.address, contactId);
        }
        if (state?.status === 'subscribed') continue;
        const consentText = [row.consent_text, row.consent_source && `Source: ${row.consent_source}`]
          .filter(Boolean)
          .join('\n');
        const { id } = await this.#consent.set(uow, {
          channel: 'email',
          address: row.address,
          listId,
          status: 'subscribed',
          source: 'import',
          contactId,
          evidence: { ip: row.ip ?? null, consentText: consentText.slice(0, 5000) || null },
        });
        // The file's consent date is when they signed up and agreed, not the day of the import.
        if (row.date)
          await em.execute(`update consents set signed_up_at = ?, confirmed_at = ? where id = ?`, [
            row.date,
            row.date,
            id,
          ]);
        created++;
      }
      await em.execute(
        `update subscriber_imports set processed_rows = processed_rows + ?, created_rows = created_rows + ?,
           skipped_rows = skipped_rows + ?, errors = ?::jsonb where id = ?`,
        [rows.length, created, skipped, JSON.stringify(errors), importId],
      );
    });
  }

  /** A row's problem, or its normalised address and consent date. */
  #check(row: Row): string | { address: string; date: Date | null } {
    if (!row.email) return 'No email address';
    const address = row.email.toLowerCase();
    if (!email.safeParse(address).success) return `"${row.email.slice(0, 100)}" is not an email address`;
    if (row.ip && !isIP(row.ip)) return `"${row.ip.slice(0, 100)}" is not an IP address`;
    let date: Date | null = null;
    if (row.consent_date) {
      date = new Date(row.consent_date);
      if (!/^\d{4}-\d{2}-\d{2}/.test(row.consent_date) || Number.isNaN(date.getTime()) || date > new Date())
        return `"${row.consent_date.slice(0, 40)}" is not a past date (YYYY-MM-DD)`;
    }
    return { address, date };
  }

  async #contactsByEmail({ em, actor }: UnitOfWork, addresses: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!addresses.length) return out;
    const rows = (await em.execute(
      `select distinct on (lower(email)) id, lower(email) as address from contacts
        where tenant_id = ? and lower(email) = any(?::text[]) order by lower(email), created_at, id`,
      [actor.tenantId, pgArray(addresses)],
    )) as { id: string; address: string }[];
    for (const r of rows) out.set(r.address, r.id);
    return out;
  }

  async #states({ em }: UnitOfWork, listId: string, addresses: string[]) {
    const out = new Map<string, { status: ConsentStatus | null; blocked: ConsentStatus | null }>();
    if (!addresses.length) return out;
    const rows = (await em.execute(
      `select address_hash, list_id, status from consents
        where channel = 'email' and address_hash = any(?::text[]) and (list_id is null or list_id = ?)`,
      [pgArray(addresses.map((a) => this.#consent.hash('email', a))), listId],
    )) as { address_hash: string; list_id: string | null; status: ConsentStatus }[];
    for (const r of rows) {
      const state = out.get(r.address_hash) ?? { status: null, blocked: null };
      if (BLOCKING_CONSENT_STATUSES.includes(r.status)) state.blocked = r.status;
      if (r.list_id) state.status = r.status;
      out.set(r.address_hash, state);
    }
    return out;
  }

  /** An existing company of that name (case-insensitive); an unknown one leaves the contact without a company. */
  async #company({ em }: UnitOfWork, cache: Map<string, string | null>, name: string): Promise<string | null> {
    const key = name.toLowerCase();
    if (!cache.has(key)) {
      const [row] = (await em.execute(`select id from companies where lower(name) = ? order by created_at limit 1`, [
        key,
      ])) as { id: string }[];
      cache.set(key, row?.id ?? null);
    }
    return cache.get(key)!;
  }

  #records_(fileUrl: string): AsyncIterable<string[]> {
    return this.#blobs
      .open(fileUrl.replace(/^blob:/, ''))
      .pipe(
        parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: false, max_record_size: 65536 }),
      );
  }

  async #countRows(fileUrl: string): Promise<number> {
    let rows = -1; // the header
    for await (const _ of this.#records_(fileUrl)) rows++;
    return Math.max(0, rows);
  }
}

const rowFields = (row: Row): Record<string, string> =>
  Object.fromEntries(
    Object.entries(row)
      .filter(([k]) => k !== 'line')
      .map(([k, v]) => [k, String(v).slice(0, 200)]),
  );
