// `npm run restore <archive>`: into a new DATA_DIR (embedded PostgreSQL) or an empty DATABASE_URL.
import path from 'node:path';
import { pino } from 'pino';
import { restoreBackup, RestoreRefused } from '../server/ops/backup/restore.ts';
import { redactDatabaseUrl } from '../server/ops/backup/manifest.ts';

const dataDir = path.resolve(process.env.DATA_DIR || './data');
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const archive = process.argv[2];

if (!archive) {
  process.stderr.write(
    'usage: npm run restore <archive>  (DATA_DIR: a new folder; or DATABASE_URL: an empty database)\n',
  );
  process.exit(64);
}

try {
  const report = await restoreBackup({
    archive: path.resolve(archive),
    dataDir,
    databaseUrl: process.env.DATABASE_URL || undefined,
    log,
  });
  process.stdout.write(
    `restored ${archive} (made ${report.manifest.createdAt}) into ${dataDir}\n` +
      `verified: ${report.tables} tables and ${report.rows} rows, the timeline seq of ${report.tenants} workspaces ` +
      `and the SHA-256 of ${report.files} files match the manifest\n`,
  );
} catch (err) {
  process.stderr.write(`${redactDatabaseUrl((err as Error).message)}\n`);
  process.exitCode = err instanceof RestoreRefused ? err.exitCode : 1;
}
