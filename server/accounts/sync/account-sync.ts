import type { ImapFlow } from 'imapflow';
import type { FolderRole } from '#contracts/accounts';
import type { Spool } from '../../../mail-gateway/spool.ts';
import type { Logger } from '../../logger.ts';
import { connectError, openImap, type AccountConnection, type ConnectDeps } from '../connect.ts';
import type { AccountHealthService, HealthPatch } from '../health.ts';
import { FolderSync, type PassResult } from './folder-sync.ts';
import type { SyncAccount, SyncStore } from './sync-store.ts';

export interface SyncTiming {
  /** How soon an idle INBOX connection enters IDLE (imapflow `autoIdleDelay`). */
  idleDelayMs: number;
  /** How often the second connection asks the other synced folders for STATUS. */
  folderPollMs: number;
  /** First reconnect delay (doubling up to `maxBackoffMs`). */
  backoffMs: number;
  maxBackoffMs: number;
  /** After the server refused the credentials: no new try for this long (or until they change). */
  authBackoffMs: number;
}

export const DEFAULT_TIMING: SyncTiming = {
  idleDelayMs: 1_000,
  folderPollMs: 30_000,
  backoffMs: 1_000,
  maxBackoffMs: 5 * 60_000,
  authBackoffMs: 6 * 60 * 60_000,
};

export interface AccountSyncDeps {
  store: SyncStore;
  spool: Spool;
  health: AccountHealthService;
  connect: ConnectDeps;
  log: Logger;
  maxBytes: number;
  timing: SyncTiming;
  /** Counts message bodies fetched (tests prove a flag change fetches none). */
  onBodies?: (n: number) => void;
}

type Side = 'inbox' | 'folders';

/** imapflow enables QRESYNC only when asked at construction (connect.ts does not); ENABLE is allowed before SELECT. */
const enableQresync = (client: ImapFlow): Promise<unknown> =>
  (client as unknown as { run(command: string, args: string[]): Promise<unknown> }).run('ENABLE', ['QRESYNC']);

/** Special-use attributes (RFC 6154) to roles; `\Inbox` is imapflow's own for INBOX. */
const ROLES: Record<string, FolderRole> = {
  '\\Inbox': 'inbox',
  '\\Sent': 'sent',
  '\\Archive': 'archive',
  '\\Drafts': 'drafts',
  '\\Junk': 'junk',
  '\\Trash': 'trash',
  '\\All': 'all',
};
/** Read by Filo: the inbox and what the account sent; never junk, trash or drafts. */
const SYNCED_ROLES = new Set<FolderRole>(['inbox', 'sent']);

/**
 * One account's sync on this node: at most two IMAP connections. The first keeps INBOX selected (read-only) and
 * IDLEs on it, syncing on every EXISTS, flag change or VANISHED; the second lists the folders once and polls the
 * other synced ones (Sent) by STATUS, syncing a folder when its UIDVALIDITY, UIDNEXT or HIGHESTMODSEQ moved. Each
 * reconnects on its own with exponential backoff; a refused login waits long (the engine restarts the account
 * when its credentials change). Health goes through the one writer, never `connected` while a side fails.
 */
export class AccountSync {
  readonly account: SyncAccount;
  readonly #deps: AccountSyncDeps;
  readonly #sync: FolderSync;
  readonly #clients = new Set<ImapFlow>();
  #stopped = false;
  #wake = new Set<() => void>();
  #loops: Promise<void> | undefined;
  readonly #errors: Record<Side, string | null> = { inbox: null, folders: null };
  readonly #initialDone: Record<Side, boolean> = { inbox: false, folders: false };
  readonly #progress = new Map<string, { done: number; total: number }>();
  #reported = '';
  #pending: HealthPatch | undefined;
  #writing: Promise<void> | undefined;

  constructor(account: SyncAccount, deps: AccountSyncDeps) {
    this.account = account;
    this.#deps = deps;
    this.#sync = new FolderSync(
      { store: deps.store, spool: deps.spool, maxBytes: deps.maxBytes, onBodies: deps.onBodies },
      account,
    );
  }

  start(): this {
    this.#loops ??= Promise.all([this.#run('inbox'), this.#run('folders')]).then(() => {});
    return this;
  }

  /** Closes both connections at once and waits for the loops to end (a chunk being written finishes or rolls back). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const wake of this.#wake) wake();
    for (const client of this.#clients) client.close();
    await this.#loops;
    await this.#writing;
  }

  /** Resolves after `ms`, or at once when the account stops (or `until` settles). */
  #sleep(ms: number, until?: Promise<unknown>): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake.add(done);
      until?.then(done, done);
    });
  }

  async #run(side: Side): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      let client: ImapFlow | undefined;
      let wait: number;
      try {
        const account = (await this.#deps.store.connection(this.account.id)) as AccountConnection | null;
        if (!account) return;
        client = await openImap(account, this.#deps.connect, { idleDelayMs: this.#deps.timing.idleDelayMs });
        this.#clients.add(client);
        if (this.#stopped) break;
        // CONDSTORE is on already; QRESYNC adds VANISHED (expunges by UID) to IDLE and CHANGEDSINCE fetches.
        if (client.capabilities.has('QRESYNC')) await enableQresync(client);
        this.#sync.listen(client);
        const closed = new Promise<void>((resolve) => client!.once('close', () => resolve()));
        const since = Date.now();
        if (side === 'inbox') await this.#inbox(client, closed);
        else await this.#folders(client, closed);
        // Closed by the server: at once after a long session, backing off when it keeps dropping us early.
        failures = Date.now() - since > 60_000 ? 0 : failures + 1;
        wait = Math.min(this.#deps.timing.backoffMs * 2 ** Math.max(0, failures - 1), this.#deps.timing.maxBackoffMs);
      } catch (err) {
        if (this.#stopped) break;
        const e = connectError('imap', err);
        const auth = e.kind === 'auth';
        failures++;
        wait = auth
          ? this.#deps.timing.authBackoffMs
          : Math.min(this.#deps.timing.backoffMs * 2 ** (failures - 1), this.#deps.timing.maxBackoffMs);
        this.#deps.log.warn({ accountId: this.account.id, side, kind: e.kind, retryInMs: wait }, 'IMAP sync failed');
        this.#fail(side, e.serverMessage, auth);
      } finally {
        if (client) {
          this.#clients.delete(client);
          client.close();
        }
      }
      await this.#sleep(wait);
    }
  }

  /** INBOX: selected read-only for good; a pass now, then one on every change IDLE reports, until the connection ends. */
  async #inbox(client: ImapFlow, closed: Promise<void>): Promise<void> {
    const [folder] = await this.#deps.store.upsertFolders(this.account, [
      { path: 'INBOX', role: 'inbox', synced: true },
    ]);
    await client.mailboxOpen('INBOX', { readOnly: true });
    this.#ok('inbox');
    let failed: unknown;
    let running: Promise<void> | undefined;
    let again = false;
    const pass = async () => {
      do {
        again = false;
        const result = await this.#sync.pass(client, folder!, (done, total) =>
          this.#onProgress('inbox', 'INBOX', done, total),
        );
        this.#afterPass('inbox', result);
      } while (again && !this.#stopped);
    };
    const trigger = () => {
      if (running) {
        again = true;
        return;
      }
      running = pass()
        .catch((err: unknown) => {
          failed = err;
          client.close();
        })
        .finally(() => (running = undefined));
    };
    trigger();
    await running;
    if (failed) throw failed;
    for (const event of ['exists', 'flags', 'expunge'] as const) client.on(event, trigger);
    await this.#sleep(2 ** 31 - 1, closed);
    await running;
    if (failed) throw failed;
  }

  /** The other folders: listed once per connection, then polled by STATUS; a folder that moved is synced. */
  async #folders(client: ImapFlow, closed: Promise<void>): Promise<void> {
    const listed = await client.list();
    const wanted = listed
      .filter((f) => !f.flags.has('\\Noselect') && f.path.toUpperCase() !== 'INBOX')
      .map((f) => {
        const role = (f.specialUse && ROLES[f.specialUse]) || null;
        return { path: f.path, role, synced: role !== null && SYNCED_ROLES.has(role) };
      });
    const folders = (await this.#deps.store.upsertFolders(this.account, wanted)).filter(
      (f) => f.synced && f.role !== 'inbox' && f.path.toUpperCase() !== 'INBOX',
    );
    this.#ok('folders');
    while (!this.#stopped) {
      for (const folder of folders) {
        if (this.#stopped) return;
        const status = await client.status(folder.path, { uidValidity: true, uidNext: true, highestModseq: true });
        // Gone for now (deleted, being made again): looked at again at the next poll.
        if (!status) continue;
        const moved =
          !folder.initialDone ||
          Number(status.uidValidity) !== folder.uidValidity ||
          Number(status.uidNext) !== folder.uidNext ||
          (status.highestModseq !== undefined && String(status.highestModseq) !== folder.highestModseq);
        if (!moved) continue;
        await client.mailboxOpen(folder.path, { readOnly: true });
        const result = await this.#sync.pass(client, folder, (done, total) =>
          this.#onProgress('folders', folder.path, done, total),
        );
        // Unselected between polls: STATUS is for folders that are not selected.
        await client.mailboxClose();
        this.#afterPass('folders', result);
      }
      if (!this.#initialDone.folders) {
        this.#initialDone.folders = true;
        this.#report({ lastSync: true });
      }
      await this.#sleep(this.#deps.timing.folderPollMs, closed);
      // Closed by the server: reconnect like the INBOX side (an error only if reconnecting fails).
      if (!client.usable) return;
    }
  }

  #afterPass(side: Side, result: PassResult): void {
    const changed = result.imported + result.flagsChanged + result.expunged + result.rebased > 0;
    const first = side === 'inbox' && !this.#initialDone.inbox;
    if (first) this.#initialDone.inbox = true;
    if (first || changed) this.#report({ lastSync: true });
  }

  /** Progress of the initial sync only: later passes (a few new messages) leave the figures as they were. */
  #onProgress(side: Side, path: string, done: number, total: number): void {
    if (this.#initialDone[side]) return;
    this.#progress.set(path, { done, total });
    this.#report({});
  }

  #ok(side: Side): void {
    const had = this.#errors[side];
    this.#errors[side] = null;
    if (had !== null || !this.#reported) this.#report({ connected: true });
  }

  #fail(side: Side, message: string, authFailed: boolean): void {
    this.#errors[side] = message;
    this.#reported = 'error';
    this.#write({ status: 'error', lastError: message, authFailed });
  }

  /** The account's health from both sides: an error while either fails, `syncing` until both initial passes end. */
  #report(opts: { lastSync?: boolean; connected?: boolean }): void {
    if (this.#stopped) return;
    const error = this.#errors.inbox ?? this.#errors.folders;
    if (error !== null) return;
    let done = 0;
    let total = 0;
    for (const p of this.#progress.values()) {
      done += p.done;
      total += p.total;
    }
    const status = this.#initialDone.inbox && this.#initialDone.folders ? 'connected' : 'syncing';
    const key = `${status}:${done}:${total}`;
    if (key === this.#reported && !opts.lastSync && !opts.connected) return;
    this.#reported = key;
    this.#write({
      status,
      // Figures only once known: a session resuming a finished sync leaves the stored ones.
      ...(this.#progress.size ? { syncDone: done, syncTotal: total } : {}),
      lastError: null,
      ...(opts.lastSync ? { lastSyncAt: new Date() } : {}),
      ...(opts.connected ? { connectedAt: new Date() } : {}),
    });
  }

  /**
   * Health writes never hold the sync up (the database may be busy with the messages' processing): one at a
   * time, later patches merged over a waiting one (the newest status wins), the last one always written.
   */
  #write(patch: HealthPatch): void {
    this.#pending = this.#pending ? { ...this.#pending, ...patch } : patch;
    this.#writing ??= (async () => {
      while (this.#pending) {
        const next = this.#pending;
        this.#pending = undefined;
        await this.#deps.health
          .setHealth(this.account.tenantId, this.account.id, next)
          .catch((err: unknown) =>
            this.#deps.log.error({ err, accountId: this.account.id }, 'account health not written'),
          );
      }
      this.#writing = undefined;
    })();
  }
}
