import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** Bumped when the archive's layout changes; restore refuses a version it does not know. */
export const BACKUP_FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';

const entry = z.object({ name: z.string(), size: z.number().int().nonnegative(), sha256: z.string().length(64) });

export const manifestSchema = z.object({
  format: z.literal('filo-backup'),
  version: z.number().int(),
  createdAt: z.string(),
  filo: z.object({ version: z.string(), commit: z.string().nullable(), migrations: z.array(z.string()).min(1) }),
  database: z.object({
    server: z.string(),
    /** Rows per table in the snapshot, `schema.table`. */
    tables: z.record(z.string(), z.number().int().nonnegative()),
    sequences: z.record(z.string(), z.number().nullable()),
  }),
  /** Per workspace, the newest timeline seq handed out in the snapshot. */
  tenants: z.record(z.string(), z.number().int().nonnegative()),
  /** Every other entry of the archive, with its SHA-256. */
  files: z.array(entry),
  /** Files the snapshot references that were gone before they could be archived (deleted meanwhile). */
  missing: z.array(z.string()),
});

export type Manifest = z.infer<typeof manifestSchema>;

const ROOT = path.resolve(import.meta.dirname, '../../..');

let cached: { version: string; commit: string | null } | undefined;

/** The code that made a backup: package version and, in a git checkout, the commit (read once per process). */
export function filoVersion(): { version: string; commit: string | null } {
  return (cached ??= readVersion());
}

function readVersion(): { version: string; commit: string | null } {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    // Not a git checkout (a container image): the migration list still says which schema the data has.
  }
  return { version, commit };
}

/** A connection URL fit for a message: the password replaced. */
export function redactDatabaseUrl(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}
