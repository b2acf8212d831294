import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { Spool } from '../../../mail-gateway/spool.ts';
import type { Logger } from '../../logger.ts';
import type { ConnectDeps } from '../connect.ts';
import type { AccountHealthService } from '../health.ts';
import { AccountSync, DEFAULT_TIMING, type SyncTiming } from './account-sync.ts';
import { SyncStore } from './sync-store.ts';

export interface SyncEngineDeps {
  /** The schema owner's URL (like the gateway and pg-boss): the engine reads accounts across workspaces. */
  databaseUrl: string;
  boss: PgBoss;
  spool: Spool;
  health: AccountHealthService;
  connect: ConnectDeps;
  log: Logger;
  /** Bytes above which a message body is not kept. */
  maxBytes: number;
  /** How often the engine looks for accounts created, resumed, changed or deleted. */
  pollMs?: number;
  timing?: Partial<SyncTiming>;
  onBodies?: (n: number) => void;
}

export interface SyncEngine {
  /** The accounts this node syncs now. */
  owned(): string[];
  /** Looks at the accounts now instead of at the next poll. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

// Any constant works, the same on every node: the second key of each account's advisory lock.
const LOCK_SPACE = 73_102_514;

/**
 * Syncs every enabled account, each on exactly one node: a node syncs an account while it holds the account's
 * PostgreSQL advisory lock, on a connection of its own (if that connection dies, its accounts stop and are free
 * for any node). Every `pollMs` it picks up accounts created or resumed, stops those paused or deleted, and
 * restarts those whose credentials or window changed.
 */
export async function startAccountSync(deps: SyncEngineDeps): Promise<SyncEngine> {
  const log = deps.log.child({ component: 'account-sync' });
  const timing = { ...DEFAULT_TIMING, ...deps.timing };
  const store = new SyncStore(deps.databaseUrl, deps.boss);
  const running = new Map<string, { sync: AccountSync; fingerprint: string }>();
  let lock: pg.Client | undefined;
  let stopped = false;
  let polling: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  const release = async (id: string) => {
    const entry = running.get(id);
    if (!entry) return;
    running.delete(id);
    await entry.sync.stop();
    await lock
      ?.query('select pg_advisory_unlock($1, hashtext($2))', [LOCK_SPACE, id])
      .catch((err: unknown) => log.warn({ err, accountId: id }, 'account lock not released'));
  };

  const lockClient = async (): Promise<pg.Client> => {
    if (lock) return lock;
    const client = new pg.Client({ connectionString: deps.databaseUrl, application_name: 'filo-sync-locks' });
    client.on('error', (err) => {
      // The locks went with the connection: another node may take these accounts now.
      log.warn({ err }, 'account lock connection lost; stopping this node’s accounts');
      if (lock === client) lock = undefined;
      for (const id of [...running.keys()]) void release(id);
    });
    await client.connect();
    lock = client;
    return client;
  };

  const poll = async () => {
    const accounts = await store.accounts();
    const seen = new Set(accounts.map((a) => a.id));
    for (const id of [...running.keys()]) if (!seen.has(id)) await release(id);
    for (const a of accounts) {
      if (stopped) return;
      const entry = running.get(a.id);
      if (entry && (!a.enabled || entry.fingerprint !== a.fingerprint)) await release(a.id);
      if (!a.enabled || running.has(a.id)) continue;
      const client = await lockClient();
      const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as ok', [
        LOCK_SPACE,
        a.id,
      ]);
      if (!rows[0]?.ok) continue;
      const account = await store.account(a.id);
      if (!account) {
        await client.query('select pg_advisory_unlock($1, hashtext($2))', [LOCK_SPACE, a.id]);
        continue;
      }
      const sync = new AccountSync(account, {
        store,
        spool: deps.spool,
        health: deps.health,
        connect: deps.connect,
        log,
        maxBytes: deps.maxBytes,
        timing,
        ...(deps.onBodies ? { onBodies: deps.onBodies } : {}),
      });
      running.set(a.id, { sync: sync.start(), fingerprint: a.fingerprint });
      log.info({ accountId: a.id }, 'account sync started');
    }
  };

  const refresh = () => {
    // One poll at a time; a refresh during a poll waits for it and polls again.
    const next = (polling ?? Promise.resolve()).then(() => (stopped ? undefined : poll()));
    polling = next.catch((err: unknown) => log.error({ err }, 'account sync poll failed'));
    return polling;
  };

  await refresh();
  const timer = setInterval(() => void refresh(), deps.pollMs ?? 1_000);
  timer.unref();

  return {
    owned: () => [...running.keys()],
    refresh,
    stop() {
      // Once: the jobs module stops it again when the process ends.
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await polling;
        await Promise.all([...running.keys()].map(release));
        await lock?.end().catch(() => {});
        lock = undefined;
        await store.close();
      })();
      return stopping;
    },
  };
}
