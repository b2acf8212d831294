import { createHash, randomUUID } from 'node:crypto';
import { closeSync, constants, fdatasync, open as openFd, write as writeFd } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

export interface SpooledMessage {
  /** Path below the spool root, e.g. `20261125/<uuid>.eml`. */
  key: string;
  size: number;
  sha256: string;
  /** The message was larger than the limit: nothing past the limit was written (the file is removed). */
  exceeded: boolean;
}

/** A message read to its end whose file is still being written and synced. */
export interface StagedMessage extends SpooledMessage {
  /** Resolves once the file and its folder entry are durable; on failure the file has been removed. */
  durable: Promise<void>;
}

/**
 * Up to this size a message is gathered in memory and its file made and written at the end with one write;
 * past it the file is made and the rest follows in writes of about this size. Every file system call is a trip
 * to libuv's thread pool (and, in a sandbox, a costly system call): a chunk-by-chunk write of a 10 KB message
 * took several.
 */
const GATHER_BYTES = 256 * 1024;

/** A folder's fsyncs: how many have started, the one in flight (and its number), the one queued behind it. */
interface DirSyncs {
  started: number;
  inFlight: { done: Promise<void>; number: number } | null;
  queued: Promise<void> | null;
}

/**
 * Spool files: each accepted message's raw bytes, written and fsync'd (file and directory) before the gateway
 * answers 250. An oversize message is drained without being written past the limit, never held in memory.
 */
export class Spool {
  readonly root: string;
  readonly #readyDirs = new Set<string>();
  /** Per folder: the fsync in flight, and the one queued behind it (which covers every file made meanwhile). */
  readonly #dirSyncs = new Map<string, DirSyncs>();

  readonly #fsyncDir: (dir: string) => Promise<void>;

  /** `fsyncDir` is replaceable so that tests can watch when folder syncs start and end. */
  constructor(root: string, opts: { fsyncDir?: (dir: string) => Promise<void> } = {}) {
    this.root = root;
    this.#fsyncDir = opts.fsyncDir ?? fsyncDir;
  }

  path(key: string): string {
    const full = path.resolve(this.root, key);
    if (!full.startsWith(path.resolve(this.root) + path.sep)) throw new Error('spool key outside the spool');
    return full;
  }

  /** Spools a message: resolves once its file (and the file's folder entry) is durable. */
  async write(source: Readable, maxBytes: number): Promise<SpooledMessage> {
    const staged = await this.stage(source, maxBytes);
    await staged.durable;
    return staged;
  }

  /**
   * Reads the message to its end and resolves with what is known then (key, size, hash); its file's last write
   * and syncs go on in `durable`. The gateway records the message's row meanwhile and commits it only once
   * `durable` has resolved: the row's statements and the file's fsyncs overlap instead of following each other.
   * When `durable` rejects, the file is gone already.
   */
  async stage(source: Readable, maxBytes: number): Promise<StagedMessage> {
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    const key = `${day}/${randomUUID()}.eml`;
    const dir = path.join(this.root, day);
    await this.#ensureDir(dir);
    const file = path.join(dir, key.slice(day.length + 1));
    let fd: number | undefined;
    let synced = false;
    let dirSynced: Promise<void> | undefined;
    const hash = createHash('sha256');
    let gathered: Buffer[] = [];
    let gatheredBytes = 0;
    // `whole`: the message is all gathered, so its one write may as well be durable when it returns (O_DSYNC:
    // as a write then an fdatasync, one trip to the thread pool fewer).
    const flush = async (whole = false) => {
      if (fd === undefined) {
        const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (whole ? constants.O_DSYNC : 0);
        fd = await fsCall<number>((cb) => openFd(file, flags, 0o600, cb));
        synced = whole;
        // The entry exists now: folder syncs started from here on cover it (see #syncDir). Its folder sync runs
        // beside the data's write and sync rather than after them (both must end before the answer): one
        // fsync fewer on the way to the 250.
        dirSynced = this.#syncDir(dir, this.#dirSyncs.get(dir)?.started ?? 0);
        dirSynced.catch(() => {}); // awaited below; a failed write must not leave it unhandled
      }
      await writeAll(fd, gathered.length === 1 ? gathered[0]! : Buffer.concat(gathered, gatheredBytes));
      gathered = [];
      gatheredBytes = 0;
    };
    // Synchronous on purpose: closing a local file whose data are already synced does no I/O, and a trip to the
    // thread pool (behind other messages' syncs) cost more than the call itself.
    const close = () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    };
    // A failed write or a broken stream leaves no partial file behind.
    const discard = async (opened: boolean, err: unknown): Promise<never> => {
      close();
      if (opened) await this.remove(key).catch(() => {});
      throw err;
    };
    let size = 0;
    let exceeded = false;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (exceeded || size > maxBytes) {
          exceeded = true;
          gathered = [];
          continue; // drain the rest of DATA so that the session can answer 552 and go on
        }
        hash.update(chunk);
        gathered.push(chunk);
        gatheredBytes += chunk.length;
        if (gatheredBytes >= GATHER_BYTES) await flush();
      }
    } catch (err) {
      await discard(fd !== undefined, err);
    }
    if (exceeded) {
      const opened = fd !== undefined;
      close();
      if (opened) await this.remove(key);
      return { key, size, sha256: '', exceeded, durable: Promise.resolve() };
    }
    const durable = (async () => {
      try {
        await flush(true);
        // The data and the size (what reading it back needs).
        if (!synced) await fsCall((cb) => fdatasync(fd!, cb));
        close();
        // The file's directory entry must be durable too, or a crash could lose a file whose bytes were synced.
        await dirSynced;
      } catch (err) {
        await discard(true, err);
      }
    })();
    durable.catch(() => {}); // the caller awaits it; until then a failure must not count as unhandled
    return { key, size, sha256: hash.digest('hex'), exceeded, durable };
  }

  remove(key: string): Promise<void> {
    return rm(this.path(key), { force: true });
  }

  async #ensureDir(dir: string) {
    if (this.#readyDirs.has(dir)) return;
    const parent = path.dirname(dir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.#syncDir(parent, this.#dirSyncs.get(parent)?.started ?? 0);
    this.#readyDirs.add(dir);
  }

  /**
   * Makes the folder's entries durable, for a caller whose entry already existed when `syncsBefore` (read
   * after the entry was made) syncs of the folder had started. Concurrent callers share fsyncs: a sync covers
   * every entry made before it started, so a caller joins the sync in flight if it is a later one (started
   * after the entry was made), else the one queued behind it (or starts one). The folder's record is kept (a
   * counter per day folder).
   */
  #syncDir(dir: string, syncsBefore: number): Promise<void> {
    let state = this.#dirSyncs.get(dir);
    if (!state) this.#dirSyncs.set(dir, (state = { started: 0, inFlight: null, queued: null }));
    const s = state;
    const start = (): Promise<void> => {
      const number = ++s.started;
      const done: Promise<void> = this.#fsyncDir(dir).finally(() => {
        if (s.inFlight?.done === done) s.inFlight = null;
      });
      s.inFlight = { done, number };
      return done;
    };
    if (!s.inFlight) return start();
    if (s.inFlight.number > syncsBefore) return s.inFlight.done;
    s.queued ??= s.inFlight.done
      .catch(() => {})
      .then(() => {
        s.queued = null;
        return start();
      });
    return s.queued;
  }
}

async function fsyncDir(dir: string) {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A callback-style fs call as a promise (no FileHandle: one object and one close fewer per message). */
function fsCall<T = void>(call: (cb: (err: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** Writes all of `data` (a write may take fewer bytes than it was given). */
async function writeAll(fd: number, data: Buffer) {
  for (let offset = 0; offset < data.length;) {
    offset += await fsCall<number>((cb) => writeFd(fd, data, offset, data.length - offset, null, cb));
  }
}
