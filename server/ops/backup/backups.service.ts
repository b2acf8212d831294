import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BackupFile, BackupList } from '#contracts/backups';
import type { Actor } from '../../tenancy.ts';
import type { OperatorCheck } from '../operator.ts';
import { defaultBackupDir, isArchiveName } from './backup.ts';

/** The archives in `$DATA_DIR/backups`, newest first (their names sort by time). */
export async function listBackups(dir: string): Promise<BackupFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter(isArchiveName);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: BackupFile[] = [];
  for (const name of names.sort().reverse()) {
    const info = await stat(path.join(dir, name)).catch(() => null);
    if (info?.isFile()) files.push({ name, sizeBytes: info.size, createdAt: info.mtime.toISOString() });
  }
  return files;
}

/** Deletes all but the `keep` newest archives; returns the names removed. */
export async function pruneBackups(dir: string, keep: number): Promise<string[]> {
  const old = (await listBackups(dir)).slice(keep).map((f) => f.name);
  for (const name of old) await rm(path.join(dir, name), { force: true });
  return old;
}

/** What Settings > Backups shows: the installation's archives, to its operator only. */
export class BackupsService {
  readonly #dir: string;
  readonly #schedule: { schedule: string | undefined; keep: number };
  readonly #operator: OperatorCheck;

  constructor(dataDir: string, schedule: { schedule: string | undefined; keep: number }, operator: OperatorCheck) {
    this.#dir = defaultBackupDir(dataDir);
    this.#schedule = schedule;
    this.#operator = operator;
  }

  async list(actor: Actor): Promise<BackupList> {
    await this.#operator.require(actor, 'Backups');
    return {
      items: await listBackups(this.#dir),
      schedule: this.#schedule.schedule ?? null,
      keep: this.#schedule.keep,
    };
  }
}
