import { Readable } from 'node:stream';
import type { FetchMessageObject, ImapFlow, MessageAddressObject } from 'imapflow';
import type { Spool } from '../../../mail-gateway/spool.ts';
import type { FetchedRow, FolderState, HeaderRow, SyncAccount, SyncStore } from './sync-store.ts';

/** Messages per fetch and per transaction in the initial sync. */
export const CHUNK = 500;
/** Spool files written (and fsync'd) at once while a chunk streams in. */
const SPOOL_PARALLEL = 128;
/** How long after a rebase that left rows unmatched new messages are matched to them first. */
const REATTACH_MS = 10 * 60_000;

export interface FolderSyncDeps {
  store: SyncStore;
  spool: Spool;
  /** Bytes above which a message's body is not kept (its row says why). */
  maxBytes: number;
  /** Counts every message whose body was fetched (tests and the bench read it). */
  onBodies?: (n: number) => void;
}

/** What a pass did: for progress and for the health's last sync. */
export interface PassResult {
  /** Messages of the window (initial) or new ones, stored before or by this pass. */
  total: number;
  imported: number;
  flagsChanged: number;
  expunged: number;
  rebased: number;
}

const bare = (id: string | undefined): string | null => {
  const v = id?.trim().replace(/^<|>$/g, '').trim();
  return v ? v.slice(0, 998) : null;
};
/** `1:3,7,9:10`: a UID set as IMAP writes it (sorted input). */
export function uidSet(uids: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < uids.length;) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    parts.push(i === j ? String(uids[i]) : `${uids[i]}:${uids[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

const addresses = (list: MessageAddressObject[] | undefined): string[] =>
  (list ?? []).map((a) => a.address?.toLowerCase()).filter((a): a is string => !!a);

/**
 * Syncs the folder selected on `client` (read-only) into inbound rows. Every fetch is `BODY.PEEK[]` or flags and
 * headers only, on an EXAMINE'd folder: Filo never sets `\Seen`. A pass is idempotent: it reads what the server
 * has, skips what is stored, and can be cut off anywhere (a crash) and run again.
 */
export class FolderSync {
  readonly #deps: FolderSyncDeps;
  readonly #account: SyncAccount;
  /** UIDs the server reported expunged (VANISHED), per folder path, until a pass records them. */
  readonly #vanished = new Map<string, Set<number>>();
  /**
   * Per folder id, until when its new messages are first matched to rows a rebase left unmatched: a client that
   * rebuilds a folder in steps (create, copy back) can be seen half-way, empty, by a pass.
   */
  readonly #reattachUntil = new Map<string, number>();

  constructor(deps: FolderSyncDeps, account: SyncAccount) {
    this.#deps = deps;
    this.#account = account;
  }

  /** Collects VANISHED reports of a connection (live ones in IDLE, and EARLIER ones in a CHANGEDSINCE fetch). */
  listen(client: ImapFlow): void {
    client.on('expunge', (e: { path: string; uid?: number; vanished: boolean }) => {
      if (!e.vanished || !e.uid) return;
      const set = this.#vanished.get(e.path) ?? new Set<number>();
      set.add(e.uid);
      this.#vanished.set(e.path, set);
    });
  }

  /**
   * One pass over the selected folder: a changed UIDVALIDITY rebases its rows, changes since the last modseq update
   * flags and record expunges, then the messages not stored yet (of the window first time, newer ones after) are
   * fetched newest first, in chunks. `progress` hears after each chunk.
   */
  async pass(
    client: ImapFlow,
    folder: FolderState,
    progress?: (done: number, total: number) => Promise<void> | void,
  ): Promise<PassResult> {
    const box = client.mailbox;
    if (!box || box.path !== folder.path) throw new Error(`folder ${folder.path} is not selected`);
    const uidValidity = Number(box.uidValidity);
    // Read before anything is fetched: what changes meanwhile is newer and is read by the next pass.
    const highestModseq = box.highestModseq ? String(box.highestModseq) : null;
    const uidNext = Number(box.uidNext);
    const result: PassResult = { total: 0, imported: 0, flagsChanged: 0, expunged: 0, rebased: 0 };

    if (folder.uidValidity !== null && folder.uidValidity !== uidValidity) {
      result.rebased = await this.#rebase(client, folder, uidValidity);
      folder.uidValidity = uidValidity;
      folder.highestModseq = null;
      folder.uidNext = null;
      folder.initialDone = false;
    } else if (folder.uidValidity !== null && folder.highestModseq && highestModseq !== folder.highestModseq) {
      result.flagsChanged = await this.#changes(client, folder, uidValidity);
    }
    folder.uidValidity = uidValidity;
    result.expunged = await this.#recordVanished(folder, uidValidity);

    const uids = await this.#wanted(client, folder);
    const stored = await this.#storedOf(folder.id, uidValidity, uids);
    const missing = uids.filter((u) => !stored.has(u)).sort((a, b) => b - a);
    result.total = uids.length;
    let done = uids.length - missing.length;
    // Progress is the initial sync's (the window): a later pass of a few new messages does not report.
    const report = !folder.initialDone ? progress : undefined;
    if (report) await report(done, result.total);
    // Pipelined: a chunk's bodies are still being spooled and its rows written while the next chunk is fetched.
    let storing: { rows: Promise<number>; size: number } | undefined;
    const stored1 = async () => {
      if (!storing) return;
      result.imported += await storing.rows;
      done += storing.size;
      storing = undefined;
      if (report) await report(done, result.total);
    };
    try {
      for (let i = 0; i < missing.length; i += CHUNK) {
        const chunk = missing.slice(i, i + CHUNK);
        const spooling = await this.#fetch(client, chunk);
        await stored1();
        const rows = this.#store(folder, uidValidity, spooling);
        rows.catch(() => {});
        storing = { rows, size: chunk.length };
      }
      await stored1();
    } finally {
      // Cut off (a lost connection): the chunk already fetched is still written, or its files removed.
      await storing?.rows.catch(() => {});
    }
    folder.highestModseq = highestModseq;
    folder.uidNext = Math.max(uidNext || 0, (uids[uids.length - 1] ?? 0) + 1, folder.uidNext ?? 0);
    folder.initialDone = true;
    await this.#deps.store.saveFolder(this.#account, folder, { messages: box.exists, lastSynced: true });
    return result;
  }

  /** The UIDs this pass should hold: the window's (since `syncDays`) the first time, every newer UID afterwards. */
  async #wanted(client: ImapFlow, folder: FolderState): Promise<number[]> {
    let found: number[] | false | undefined;
    if (!folder.initialDone || folder.uidNext === null) {
      const since = new Date(Date.now() - this.#account.syncDays * 86_400_000);
      found = await client.search({ since }, { uid: true });
    } else {
      found = await client.search({ uid: `${folder.uidNext}:*` }, { uid: true });
      // `n:*` names the last message even when its UID is below n.
      if (found) found = found.filter((u) => u >= folder.uidNext!);
    }
    return (found || []).sort((a, b) => a - b);
  }

  async #storedOf(folderId: string, uidValidity: number, uids: number[]): Promise<Set<number>> {
    const stored = new Set<number>();
    for (let i = 0; i < uids.length; i += 10_000)
      for (const u of await this.#deps.store.storedUids(
        this.#account,
        folderId,
        uidValidity,
        uids.slice(i, i + 10_000),
      ))
        stored.add(u);
    return stored;
  }

  /**
   * Fetches these UIDs (headers, flags and `BODY.PEEK[]`) and starts spooling each body as it arrives; resolves when
   * the FETCH is done, with each message's row as a promise (settled once its file is written and fsync'd).
   */
  async #fetch(client: ImapFlow, uids: number[]): Promise<Promise<FetchedRow>[]> {
    const rows: Promise<FetchedRow>[] = [];
    let writing = 0;
    const slots: (() => void)[] = [];
    const spoolOne = async (m: FetchMessageObject): Promise<FetchedRow> => {
      while (writing >= SPOOL_PARALLEL) await new Promise<void>((r) => slots.push(r));
      writing++;
      try {
        const source = m.source ?? Buffer.alloc(0);
        const spooled = await this.#deps.spool.write(Readable.from([source]), this.#deps.maxBytes);
        const env = m.envelope;
        return {
          uid: m.uid,
          flags: [...(m.flags ?? [])],
          modseq: m.modseq !== undefined ? String(m.modseq) : null,
          messageId: bare(env?.messageId),
          size: m.size ?? source.length,
          sha256: spooled.exceeded ? null : spooled.sha256,
          spoolKey: spooled.exceeded ? null : spooled.key,
          mailFrom: addresses(env?.from)[0] ?? null,
          rcptTo: [...addresses(env?.to), ...addresses(env?.cc)],
          ...(spooled.exceeded ? { error: `larger than ${this.#deps.maxBytes} bytes: not fetched` } : {}),
        };
      } finally {
        writing--;
        slots.shift()?.();
      }
    };
    const wanted = new Set(uids);
    try {
      for await (const m of client.fetch(
        uidSet([...uids].sort((a, b) => a - b)),
        { uid: true, flags: true, envelope: true, size: true, source: true },
        { uid: true },
      )) {
        if (!wanted.has(m.uid)) continue;
        const row = spoolOne(m);
        row.catch(() => {});
        rows.push(row);
      }
    } catch (err) {
      await this.#discard(rows);
      throw err;
    }
    return rows;
  }

  /** One transaction for a fetched chunk once its files are durable; a file whose UID was stored already goes. */
  async #store(folder: FolderState, uidValidity: number, spooling: Promise<FetchedRow>[]): Promise<number> {
    const settled = await Promise.allSettled(spooling);
    const fetched = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) {
      await this.#discard(spooling);
      throw failed.reason;
    }
    this.#deps.onBodies?.(fetched.length);
    // A failed insert keeps its files: had the commit landed unseen, its rows would need them.
    const result = await this.#deps.store.insert(this.#account, folder.id, uidValidity, fetched, {
      backlog: !folder.initialDone,
      reattach: (this.#reattachUntil.get(folder.id) ?? 0) > Date.now(),
    });
    if (result.left === 0) this.#reattachUntil.delete(folder.id);
    for (const key of result.duplicateKeys) await this.#deps.spool.remove(key).catch(() => {});
    return result.inserted;
  }

  /** Removes the files of a chunk that will not be stored (a later pass fetches those messages again). */
  async #discard(spooling: Promise<FetchedRow>[]): Promise<void> {
    for (const r of await Promise.allSettled(spooling))
      if (r.status === 'fulfilled' && r.value.spoolKey) await this.#deps.spool.remove(r.value.spoolKey).catch(() => {});
  }

  /** Flags changed since the stored modseq (CONDSTORE), expunges with them (QRESYNC VANISHED); no body is read. */
  async #changes(client: ImapFlow, folder: FolderState, uidValidity: number): Promise<number> {
    // An emptied folder: every message of it is gone (there is nothing to FETCH).
    if (!client.mailbox || !client.mailbox.exists) {
      await this.#deps.store.expungeAll(this.#account, folder.id, uidValidity);
      return 0;
    }
    const changes = [];
    for await (const m of client.fetch(
      '1:*',
      { uid: true, flags: true },
      { uid: true, changedSince: BigInt(folder.highestModseq!) },
    ))
      changes.push({
        uid: m.uid,
        flags: [...(m.flags ?? [])],
        modseq: m.modseq !== undefined ? String(m.modseq) : null,
      });
    return this.#deps.store.updateFlags(this.#account, folder.id, uidValidity, changes);
  }

  async #recordVanished(folder: FolderState, uidValidity: number): Promise<number> {
    const uids = this.#vanished.get(folder.path);
    if (!uids?.size) return 0;
    this.#vanished.delete(folder.path);
    return this.#deps.store.markExpunged(this.#account, folder.id, uidValidity, [...uids]);
  }

  /** Headers of every message now in the folder, matched to its rows; the truly new ones are imported after. */
  async #rebase(client: ImapFlow, folder: FolderState, uidValidity: number): Promise<number> {
    this.#vanished.delete(folder.path);
    const now: HeaderRow[] = [];
    if (client.mailbox && client.mailbox.exists)
      for await (const m of client.fetch('1:*', { uid: true, flags: true, envelope: true, size: true }, { uid: true }))
        now.push({
          uid: m.uid,
          messageId: bare(m.envelope?.messageId),
          size: m.size ?? 0,
          flags: [...(m.flags ?? [])],
          modseq: m.modseq !== undefined ? String(m.modseq) : null,
        });
    const { moved, left } = await this.#deps.store.rebase(this.#account, folder.id, uidValidity, now);
    if (left) this.#reattachUntil.set(folder.id, Date.now() + REATTACH_MS);
    else this.#reattachUntil.delete(folder.id);
    return moved;
  }
}
