import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import type { Logger } from '../../logger.ts';
import { copyTableOut, qualified } from './pg-copy.ts';
import { TarWriter, type TarEntry } from './tar.ts';
import { BACKUP_FORMAT_VERSION, filoVersion, MANIFEST_NAME, type Manifest } from './manifest.ts';

/** The folders of DATA_DIR whose files the database refers to by key. */
export const FILE_AREAS = ['blobs', 'spool'] as const;
const ARCHIVE_PREFIX = 'filo-backup-';
export const ARCHIVE_SUFFIX = '.tar.gz';

export interface BackupResult {
  path: string;
  size: number;
  manifest: Manifest;
}

export const defaultBackupDir = (dataDir: string) => path.join(dataDir, 'backups');

/** `filo-backup-20261205T204512345Z.tar.gz`: sorts by time, unique to the millisecond. */
export function archiveName(at: Date): string {
  return `${ARCHIVE_PREFIX}${at.toISOString().replaceAll(/[-:.]/g, '')}${ARCHIVE_SUFFIX}`;
}

export const isArchiveName = (name: string) => name.startsWith(ARCHIVE_PREFIX) && name.endsWith(ARCHIVE_SUFFIX);

/** Hard-links (or copies, across file systems) every file under `from` into `to`; returns the relative paths. */
async function linkTree(from: string, to: string): Promise<Set<string>> {
  const linked = new Set<string>();
  if (!existsSync(from)) return linked;
  // Asynchronous, one file at a time: on a worker that also serves HTTP, a large store must not stall requests.
  for (const rel of await readdir(from, { recursive: true, encoding: 'utf8' })) {
    const source = path.join(from, rel);
    // A blob still being written has a `.part` name and no row yet.
    if (rel.endsWith('.part') || !(await stat(source).catch(() => null))?.isFile()) continue;
    const target = path.join(to, rel);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await link(source, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // removed between the listing and the link
      if (code !== 'EXDEV' && code !== 'EPERM') throw err;
      await copyFile(source, target);
    }
    linked.add(rel.split(path.sep).join('/'));
  }
  return linked;
}

/**
 * Writes one archive: the database as of ONE snapshot (a REPEATABLE READ, READ ONLY transaction: the same
 * guarantee pg_dump gives, which the embedded PostgreSQL does not ship) plus the blob and spool files that
 * snapshot refers to, and a manifest. Files: right after the snapshot is taken every blob and spool file is
 * hard-linked aside. A file is written and fsync'd before the row naming it commits, and removed only after the
 * row's deletion commits, so every file the snapshot refers to is still there to link (a link keeps its bytes
 * even if Filo deletes the file later); files of rows committed after the snapshot are linked too but left
 * out, since the snapshot does not refer to them.
 */
export async function createBackup(opts: {
  databaseUrl: string;
  dataDir: string;
  /** A folder (the archive gets a dated name) or a file path ending in `.tar.gz`. */
  destination?: string;
  log: Logger;
}): Promise<BackupResult> {
  const { dataDir, log } = opts;
  const destination = opts.destination ?? defaultBackupDir(dataDir);
  const createdAt = new Date();
  const target = destination.endsWith(ARCHIVE_SUFFIX) ? destination : path.join(destination, archiveName(createdAt));
  await mkdir(path.dirname(target), { recursive: true });
  // Beside the blobs, so that hard links work (same file system).
  const staging = path.join(dataDir, `.backup-${randomUUID()}`);
  await mkdir(staging, { recursive: true, mode: 0o700 });
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read, read only');
    // The first statement takes the snapshot; everything below reads from it.
    const server = ((await client.query('show server_version')).rows[0] as { server_version: string }).server_version;
    const linked = {
      blobs: await linkTree(path.join(dataDir, 'blobs'), path.join(staging, 'blobs')),
      spool: await linkTree(path.join(dataDir, 'spool'), path.join(staging, 'spool')),
    };

    const tables = (
      await client.query(
        `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r' order by c.relname`,
      )
    ).rows.map((r: { name: string }) => r.name);
    const rowCounts: Record<string, number> = {};
    await mkdir(path.join(staging, 'db'));
    for (const table of tables) {
      const out = createWriteStream(path.join(staging, 'db', `${table}.copy`), { mode: 0o600 });
      rowCounts[`public.${table}`] = await copyTableOut(client, qualified('public', table), out);
    }
    const sequences = Object.fromEntries(
      (await client.query(`select sequencename, last_value from pg_sequences where schemaname = 'public'`)).rows.map(
        (r: { sequencename: string; last_value: string | null }) => [
          `public.${r.sequencename}`,
          r.last_value === null ? null : Number(r.last_value),
        ],
      ),
    );
    const tenants = Object.fromEntries(
      (await client.query('select id, activity_seq from tenants order by id')).rows.map(
        (r: { id: string; activity_seq: string }) => [r.id, Number(r.activity_seq)],
      ),
    );
    const migrations = (await client.query('select name from mikro_orm_migrations order by id')).rows.map(
      (r: { name: string }) => r.name,
    );
    const referenced = await referencedFiles(client);
    await client.query('commit');

    const files: TarEntry[] = [];
    const missing: string[] = [];
    const gzip = createGzip();
    const sink = createWriteStream(`${target}.part`, { mode: 0o600 });
    const written = new Promise<void>((resolve, reject) => {
      sink.once('close', resolve);
      sink.once('error', reject);
      gzip.once('error', reject);
    });
    gzip.pipe(sink);
    const tar = new TarWriter(gzip);
    for (const table of tables) {
      const file = path.join(staging, 'db', `${table}.copy`);
      files.push(await tar.addFile(`db/${table}.copy`, file, statSync(file).size));
    }
    for (const area of FILE_AREAS) {
      for (const key of [...referenced[area]].sort()) {
        if (!linked[area].has(key)) {
          missing.push(`${area}/${key}`);
          continue;
        }
        const file = path.join(staging, area, key);
        files.push(await tar.addFile(`${area}/${key}`, file, statSync(file).size));
      }
    }
    // The development SECRET_KEY (generated into DATA_DIR) decrypts the stored mail credentials.
    const secret = path.join(dataDir, 'secret.key');
    if (existsSync(secret)) files.push(await tar.addFile('secret.key', secret, statSync(secret).size));
    const manifest: Manifest = {
      format: 'filo-backup',
      version: BACKUP_FORMAT_VERSION,
      createdAt: createdAt.toISOString(),
      filo: { ...filoVersion(), migrations },
      database: { server, tables: rowCounts, sequences },
      tenants,
      files,
      missing,
    };
    await tar.addBuffer(MANIFEST_NAME, Buffer.from(JSON.stringify(manifest, null, 2)));
    await tar.finish();
    await written;
    await rename(`${target}.part`, target);
    if (missing.length) log.warn({ missing }, 'files the snapshot refers to were gone before they were archived');
    const size = statSync(target).size;
    log.info({ archive: target, size, tables: tables.length, files: files.length }, 'backup written');
    return { path: target, size, manifest };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    await rm(`${target}.part`, { force: true });
    throw err;
  } finally {
    await client.end().catch(() => undefined);
    await rm(staging, { recursive: true, force: true });
  }
}

/** The blob keys (`file_url` = `blob:<key>`) and spool keys (`spool_key`) the snapshot's rows name. */
async function referencedFiles(client: pg.Client): Promise<Record<(typeof FILE_AREAS)[number], Set<string>>> {
  const columns = (
    await client.query(
      `select table_name, column_name from information_schema.columns
        where table_schema = 'public' and column_name in ('file_url', 'spool_key')`,
    )
  ).rows as { table_name: string; column_name: string }[];
  const found = { blobs: new Set<string>(), spool: new Set<string>() };
  for (const { table_name: table, column_name: column } of columns) {
    const col = `"${column}"`;
    const where = column === 'file_url' ? `${col} like 'blob:%'` : `${col} is not null`;
    const { rows } = await client.query(`select ${col} as key from ${qualified('public', table)} where ${where}`);
    for (const { key } of rows as { key: string }[]) {
      if (column === 'file_url') found.blobs.add(key.slice('blob:'.length));
      else found.spool.add(key);
    }
  }
  return found;
}
