import { randomUUID, createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../../db/embedded.ts';
import { initORM } from '../../../db/orm.ts';
import { migrationsList } from '../../../db/migrations/index.ts';
import type { Logger } from '../../logger.ts';
import { copyTableIn } from './pg-copy.ts';
import { extractTar } from './tar.ts';
import { BACKUP_FORMAT_VERSION, MANIFEST_NAME, manifestSchema, type Manifest } from './manifest.ts';
import { FILE_AREAS } from './backup.ts';

/** Why a restore did not start; `exitCode` follows sysexits (73: cannot create, 65: bad input data). */
export class RestoreRefused extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface RestoreReport {
  manifest: Manifest;
  tables: number;
  rows: number;
  files: number;
  tenants: number;
}

const isEmptyDir = (dir: string) => !existsSync(dir) || readdirSync(dir).length === 0;

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The target must hold nothing: a restore never merges into (or overwrites) an installation. */
async function checkEmptyTarget(dataDir: string, databaseUrl: string | undefined): Promise<void> {
  if (!databaseUrl) {
    if (!isEmptyDir(dataDir)) {
      throw new RestoreRefused(`refusing to restore: the data folder ${dataDir} is not empty (use a new one)`, 73);
    }
    return;
  }
  for (const area of [...FILE_AREAS, 'secret.key']) {
    if (existsSync(path.join(dataDir, area)) && !isEmptyDir(path.join(dataDir, area))) {
      throw new RestoreRefused(
        `refusing to restore: ${path.join(dataDir, area)} is not empty (use a new DATA_DIR)`,
        73,
      );
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(`select count(*)::int as n from pg_tables where schemaname = 'public'`);
    if ((rows[0] as { n: number }).n > 0) {
      throw new RestoreRefused('refusing to restore: the database of DATABASE_URL is not empty (use an empty one)', 73);
    }
  } finally {
    await client.end();
  }
}

/** Extracts the archive and checks every file against the manifest's size and SHA-256 before anything is written. */
async function unpack(archive: string, staging: string): Promise<Manifest> {
  let entries;
  try {
    entries = await extractTar(archive, staging);
  } catch (err) {
    throw new RestoreRefused(`refusing to restore: the archive is damaged (${(err as Error).message})`, 65);
  }
  const manifestEntry = entries.find((e) => e.name === MANIFEST_NAME);
  if (!manifestEntry) throw new RestoreRefused('refusing to restore: the archive has no manifest', 65);
  const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(path.join(staging, MANIFEST_NAME), 'utf8')));
  if (!parsed.success) throw new RestoreRefused('refusing to restore: the manifest is not a Filo backup manifest', 65);
  const manifest = parsed.data;
  if (manifest.version > BACKUP_FORMAT_VERSION) {
    throw new RestoreRefused(`refusing to restore: backup format ${manifest.version} is newer than this Filo`, 65);
  }
  const got = new Map(entries.filter((e) => e.name !== MANIFEST_NAME).map((e) => [e.name, e]));
  for (const file of manifest.files) {
    const entry = got.get(file.name);
    if (!entry || entry.size !== file.size || entry.sha256 !== file.sha256) {
      throw new RestoreRefused(`refusing to restore: ${file.name} does not match its SHA-256 in the manifest`, 65);
    }
    got.delete(file.name);
  }
  if (got.size) throw new RestoreRefused(`refusing to restore: ${[...got.keys()][0]} is not in the manifest`, 65);
  const known = new Set(migrationsList.map((m) => m.name));
  const unknown = manifest.filo.migrations.find((m) => !known.has(m));
  if (unknown) throw new RestoreRefused(`refusing to restore: made by a newer Filo (migration ${unknown})`, 65);
  return manifest;
}

/**
 * Restores an archive into an empty target: the schema from the same migrations the backup's database had run
 * (a newer Filo then applies its own on start, like any upgrade), the rows in one transaction with triggers off
 * (the rows are already what triggers made of them), then the files; and checks the result against the manifest.
 */
export async function restoreBackup(opts: {
  archive: string;
  dataDir: string;
  databaseUrl?: string;
  log: Logger;
}): Promise<RestoreReport> {
  const { archive, dataDir, databaseUrl, log } = opts;
  if (!existsSync(archive)) throw new RestoreRefused(`no archive at ${archive}`, 66);
  await checkEmptyTarget(dataDir, databaseUrl);
  await mkdir(dataDir, { recursive: true });
  const staging = path.join(dataDir, `.restore-${randomUUID()}`);
  let stopDatabase = async () => {};
  try {
    const manifest = await unpack(archive, staging);
    let url = databaseUrl;
    if (!url) {
      const embedded = await startEmbeddedPostgres(dataDir, log);
      stopDatabase = () => embedded.stop();
      url = embedded.url;
    }
    const orm = await initORM(url);
    try {
      await orm.migrator.up({ migrations: manifest.filo.migrations });
    } finally {
      await orm.close(true);
    }
    await loadRows(url, manifest, staging);
    for (const file of manifest.files) {
      if (file.name.startsWith('db/')) continue;
      const target = path.join(dataDir, file.name);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(path.join(staging, file.name), target);
    }
    const report = await verify(url, dataDir, manifest);
    log.info({ ...report, manifest: undefined }, 'restore verified against the manifest');
    return report;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await stopDatabase();
  }
}

async function loadRows(url: string, manifest: Manifest, staging: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin');
    // Foreign keys and triggers are triggers: off for this transaction, as pg_restore --disable-triggers does.
    await client.query(`set local session_replication_role = replica`);
    const tables = Object.keys(manifest.database.tables).map((t) => t.split('.') as [string, string]);
    const ident = ([schema, table]: [string, string]) => `"${schema}"."${table.replaceAll('"', '""')}"`;
    // Migrations seed rows (their own bookkeeping, default stages): the archive's rows replace them.
    await client.query(`truncate ${tables.map(ident).join(', ')}`);
    for (const table of tables) {
      await copyTableIn(client, ident(table), path.join(staging, 'db', `${table[1]}.copy`));
    }
    for (const [name, value] of Object.entries(manifest.database.sequences)) {
      if (value !== null) await client.query('select setval($1::regclass, $2)', [name, value]);
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

/** Row counts, per-workspace seq and every file's SHA-256, read back from the restored installation. */
async function verify(url: string, dataDir: string, manifest: Manifest): Promise<RestoreReport> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let rows = 0;
  try {
    for (const [name, expected] of Object.entries(manifest.database.tables)) {
      const [schema, table] = name.split('.') as [string, string];
      const { rows: r } = await client.query(`select count(*)::int as n from "${schema}"."${table}"`);
      const n = (r[0] as { n: number }).n;
      if (n !== expected) throw new Error(`restored ${name} has ${n} rows, the manifest says ${expected}`);
      rows += n;
    }
    const { rows: tenants } = await client.query('select id, activity_seq from tenants');
    for (const t of tenants as { id: string; activity_seq: string }[]) {
      if (manifest.tenants[t.id] !== Number(t.activity_seq)) {
        throw new Error(
          `restored workspace ${t.id} has seq ${t.activity_seq}, the manifest says ${manifest.tenants[t.id]}`,
        );
      }
    }
    if (tenants.length !== Object.keys(manifest.tenants).length) throw new Error('workspace count differs');
  } finally {
    await client.end();
  }
  let files = 0;
  for (const file of manifest.files) {
    if (file.name.startsWith('db/')) continue;
    if ((await sha256(path.join(dataDir, file.name))) !== file.sha256) {
      throw new Error(`restored ${file.name} does not match its SHA-256`);
    }
    files++;
  }
  return {
    manifest,
    tables: Object.keys(manifest.database.tables).length,
    rows,
    files,
    tenants: Object.keys(manifest.tenants).length,
  };
}
