import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BackupFile, BackupList } from '#contracts/backups';
import type { MikroORM } from '../../../db/orm.ts';
import { HttpError } from '../../http/errors.ts';
import { requireRole, type Actor } from '../../tenancy.ts';
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

/**
 * What Settings > Backups shows: the installation's archives, to its operator only (on a server hosting several
 * workspaces, their admins are not the operator): the members named in OPERATOR_EMAILS, or else the owners and
 * admins of the installation's only workspace.
 */
export class BackupsService {
  readonly #orm: MikroORM;
  readonly #dir: string;
  readonly #schedule: { schedule: string | undefined; keep: number };
  readonly #operators: string[];

  constructor(
    orm: MikroORM,
    dataDir: string,
    schedule: { schedule: string | undefined; keep: number },
    operators: string[],
  ) {
    this.#orm = orm;
    this.#dir = defaultBackupDir(dataDir);
    this.#schedule = schedule;
    this.#operators = operators;
  }

  async #requireOperator(actor: Actor): Promise<void> {
    requireRole(actor, 'owner', 'admin');
    const db = this.#orm.em.fork().getConnection();
    if (this.#operators.length) {
      const [user] = (await db.execute(`select lower(email) as email from users where id = ?`, [actor.userId])) as {
        email: string;
      }[];
      if (user && this.#operators.includes(user.email)) return;
    } else {
      const [{ n }] = (await db.execute(`select filo_workspace_count() as n`)) as [{ n: number }];
      if (n === 1) return;
    }
    throw new HttpError(403, 'forbidden', "Backups are for the installation's operator (OPERATOR_EMAILS)");
  }

  async list(actor: Actor): Promise<BackupList> {
    await this.#requireOperator(actor);
    return {
      items: await listBackups(this.#dir),
      schedule: this.#schedule.schedule ?? null,
      keep: this.#schedule.keep,
    };
  }
}
