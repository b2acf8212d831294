import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

export interface StoredBlob {
  key: string;
  size: number;
  sha256: string;
  /** False when the stream went past `maxBytes` (the partial file is already removed). */
  complete: boolean;
}

/** Where file bytes live. The database keeps only keys: `blob:<key>` in `file_url`. */
export interface BlobStore {
  put(source: Readable, opts: { prefix: string; maxBytes: number }): Promise<StoredBlob>;
  open(key: string): ReadStream;
  path(key: string): string;
  remove(key: string): Promise<void>;
}

/**
 * Files under `$DATA_DIR/blobs`: streamed to a temporary name while hashing and counting, fsync'd, then
 * renamed into place, so a crash never leaves a half-written blob under a real key.
 */
export function fileBlobStore(root: string): BlobStore {
  const full = (key: string) => {
    const resolved = path.resolve(root, key);
    if (!resolved.startsWith(path.resolve(root) + path.sep)) throw new Error('blob key escapes the store');
    return resolved;
  };
  return {
    path: full,
    async put(source, { prefix, maxBytes }) {
      const key = `${prefix}/${new Date().toISOString().slice(0, 7)}/${randomUUID()}`;
      const target = full(key);
      await mkdir(path.dirname(target), { recursive: true });
      const temp = `${target}.part`;
      const hash = createHash('sha256');
      let size = 0;
      let complete = true;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > maxBytes) {
            complete = false;
            return done();
          }
          hash.update(chunk);
          done(null, chunk);
        },
      });
      try {
        await pipeline(source, meter, createWriteStream(temp, { mode: 0o600 }));
        if (!complete) {
          await rm(temp, { force: true });
          return { key, size, sha256: '', complete };
        }
        const fh = await open(temp, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(temp, target);
      } catch (err) {
        // a source that broke off (or a full disk) leaves no temporary file behind
        await rm(temp, { force: true });
        throw err;
      }
      return { key, size: (await stat(target)).size, sha256: hash.digest('hex'), complete };
    },
    open: (key) => createReadStream(full(key)),
    remove: (key) => rm(full(key), { force: true }),
  };
}
