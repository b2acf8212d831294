import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../../db/embedded.ts';
import type { Logger } from '../../logger.ts';

export interface OpenDatabase {
  /** Owner (or superuser) URL: the dump must see every tenant's rows. */
  url: string;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The database of this installation: DATABASE_URL; else the embedded cluster of a running Filo (its port is in
 * postmaster.pid: starting a second postmaster on the folder would stop the running one); else the embedded
 * cluster started for the time of the command.
 */
export async function openDatabase(
  opts: { databaseUrl: string | undefined; dataDir: string },
  log: Logger,
): Promise<OpenDatabase> {
  if (opts.databaseUrl) return { url: opts.databaseUrl, stop: async () => {} };
  const pidFile = path.join(opts.dataDir, 'postgres', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const lines = readFileSync(pidFile, 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid) && Number.isInteger(port)) {
      const password = readFileSync(path.join(opts.dataDir, 'postgres.password'), 'utf8').trim();
      return {
        url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/filo`,
        stop: async () => {},
      };
    }
  }
  if (!existsSync(path.join(opts.dataDir, 'postgres', 'PG_VERSION'))) {
    throw new Error(`no Filo database in ${opts.dataDir} (set DATA_DIR or DATABASE_URL)`);
  }
  const embedded = await startEmbeddedPostgres(opts.dataDir, log);
  return { url: embedded.url, stop: () => embedded.stop() };
}
