// `npm run backup [path]`: one archive of this installation (database snapshot, blobs, spool, manifest).
import path from 'node:path';
import { pino } from 'pino';
import { createBackup } from '../server/ops/backup/backup.ts';
import { openDatabase } from '../server/ops/backup/database.ts';
import { redactDatabaseUrl } from '../server/ops/backup/manifest.ts';

// DATA_DIR and DATABASE_URL only: loading the whole configuration would generate a secret into DATA_DIR.
const dataDir = path.resolve(process.env.DATA_DIR || './data');
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const destination = process.argv[2] ? path.resolve(process.argv[2]) : undefined;

try {
  const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL || undefined, dataDir }, log);
  try {
    const { path: archive, size, manifest } = await createBackup({ databaseUrl: db.url, dataDir, destination, log });
    const rows = Object.values(manifest.database.tables).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `backup written: ${archive} (${size} bytes; ${Object.keys(manifest.database.tables).length} tables, ` +
        `${rows} rows, ${manifest.files.length} files, ${Object.keys(manifest.tenants).length} workspaces)\n`,
    );
    if (manifest.missing.length)
      process.stdout.write(`not archived (deleted meanwhile): ${manifest.missing.join(', ')}\n`);
  } finally {
    await db.stop();
  }
} catch (err) {
  process.stderr.write(`backup failed: ${redactDatabaseUrl((err as Error).message)}\n`);
  process.exitCode = 1;
}
