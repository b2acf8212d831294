import { createHash, randomUUID } from 'node:crypto';
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

/**
 * Spool files: each accepted message's raw bytes, written and fsync'd (file and directory) before the gateway
 * answers 250. An oversize message is drained without being written past the limit, never held in memory.
 */
export class Spool {
  readonly root: string;
  readonly #readyDirs = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  path(key: string): string {
    const full = path.resolve(this.root, key);
    if (!full.startsWith(path.resolve(this.root) + path.sep)) throw new Error('spool key outside the spool');
    return full;
  }

  async write(source: Readable, maxBytes: number): Promise<SpooledMessage> {
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    const key = `${day}/${randomUUID()}.eml`;
    const dir = path.join(this.root, day);
    await this.#ensureDir(dir);
    const file = await open(path.join(dir, key.slice(day.length + 1)), 'wx', 0o600);
    const hash = createHash('sha256');
    let size = 0;
    let exceeded = false;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (exceeded || size > maxBytes) {
          exceeded = true;
          continue; // drain the rest of DATA so that the session can answer 552 and go on
        }
        hash.update(chunk);
        await file.write(chunk);
      }
      if (!exceeded) await file.sync();
    } finally {
      await file.close();
    }
    if (exceeded) {
      await this.remove(key);
      return { key, size, sha256: '', exceeded };
    }
    // The file's directory entry must be durable too, or a crash could lose a file whose bytes were synced.
    await this.#syncDir(dir);
    return { key, size, sha256: hash.digest('hex'), exceeded };
  }

  remove(key: string): Promise<void> {
    return rm(this.path(key), { force: true });
  }

  async #ensureDir(dir: string) {
    if (this.#readyDirs.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.#syncDir(path.dirname(dir));
    this.#readyDirs.add(dir);
  }

  async #syncDir(dir: string) {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
