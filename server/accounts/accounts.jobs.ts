import type { Spool } from '../../mail-gateway/spool.ts';
import type { DomainJobs } from '../jobs/queue.ts';
import type { ConnectDeps } from './connect.ts';
import type { AccountHealthService } from './health.ts';
import { startAccountSync, type SyncEngine } from './sync/engine.ts';

/**
 * The IMAP sync of members' accounts, on worker nodes: it is not a queue but a long-running engine (each account
 * owned by one node through an advisory lock), started with the workers and stopped before pg-boss stops.
 */
export function accountsJobs(deps: {
  databaseUrl: string;
  spool: Spool;
  health: AccountHealthService;
  connect: () => ConnectDeps;
  maxBytes: number;
  pollMs: number;
  folderPollMs: number;
}): DomainJobs & { engine(): SyncEngine | undefined } {
  let engine: SyncEngine | undefined;
  return {
    async queues() {},
    async work(boss, log) {
      engine = await startAccountSync({
        databaseUrl: deps.databaseUrl,
        boss,
        spool: deps.spool,
        health: deps.health,
        connect: deps.connect(),
        log,
        maxBytes: deps.maxBytes,
        pollMs: deps.pollMs,
        timing: { folderPollMs: deps.folderPollMs },
      });
    },
    async stop() {
      await engine?.stop();
      engine = undefined;
    },
    engine: () => engine,
  };
}
