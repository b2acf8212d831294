import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

const BLOCK = 512;

export interface TarEntry {
  name: string;
  size: number;
  sha256: string;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A POSIX ustar header for a regular file (names past 100 bytes use the 155-byte prefix field). */
function header(name: string, size: number, mtime: Date): Buffer {
  const buf = Buffer.alloc(BLOCK);
  let base = name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`name too long for tar: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  buf.write(base, 0, 100);
  buf.write(octal(0o600, 8), 100);
  buf.write(octal(0, 8), 108);
  buf.write(octal(0, 8), 116);
  buf.write(octal(size, 12), 124);
  buf.write(octal(Math.floor(mtime.getTime() / 1000), 12), 136);
  buf.write('        ', 148);
  buf.write('0', 156);
  buf.write('ustar\0', 257);
  buf.write('00', 263);
  buf.write(prefix, 345, 155);
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(octal(sum, 7) + ' ', 148);
  return buf;
}

/** Writes tar entries one after another into `out` (a gzip stream in practice), hashing each file's bytes. */
export class TarWriter {
  readonly #out: Writable;
  constructor(out: Writable) {
    this.#out = out;
  }

  async #write(chunk: Buffer): Promise<void> {
    if (!this.#out.write(chunk)) await new Promise((resolve) => this.#out.once('drain', resolve));
  }

  async addBuffer(name: string, data: Buffer): Promise<TarEntry> {
    await this.#write(header(name, data.length, new Date()));
    await this.#write(data);
    await this.#pad(data.length);
    return { name, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  }

  /** `size` is the file's size when it was listed: blobs and spool files are never rewritten in place. */
  async addFile(name: string, file: string, size: number): Promise<TarEntry> {
    await this.#write(header(name, size, new Date()));
    const hash = createHash('sha256');
    let written = 0;
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      if (written + chunk.length > size) throw new Error(`${name} grew while it was archived`);
      hash.update(chunk);
      written += chunk.length;
      await this.#write(chunk);
    }
    if (written !== size) throw new Error(`${name} shrank while it was archived`);
    await this.#pad(size);
    return { name, size, sha256: hash.digest('hex') };
  }

  async #pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest) await this.#write(Buffer.alloc(BLOCK - rest));
  }

  async finish(): Promise<void> {
    await this.#write(Buffer.alloc(BLOCK * 2));
    await new Promise<void>((resolve, reject) => {
      this.#out.once('error', reject);
      this.#out.end(resolve);
    });
  }
}

function field(buf: Buffer, offset: number, length: number): string {
  const raw = buf.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** A safe relative path inside the extraction folder, or an error: an archive never writes outside it. */
export function safeEntryName(name: string): string {
  const normal = path.posix.normalize(name);
  if (!name || path.posix.isAbsolute(normal) || normal.startsWith('..') || normal.includes('\0')) {
    throw new Error(`unsafe path in archive: ${JSON.stringify(name)}`);
  }
  return normal;
}

/**
 * Extracts a gzip'd tar of regular files into `dest`, hashing each as it is written. A bad header checksum, an
 * entry that is not a regular file or a truncated stream stops it with an error.
 */
export async function extractTar(archive: string | Readable, dest: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let current: { entry: TarEntry; fd: number; left: number; pad: number; hash: ReturnType<typeof createHash> } | null =
    null;
  let ended = false;
  const consume = () => {
    for (;;) {
      if (ended) return;
      if (current) {
        if (current.left > 0) {
          if (!pending.length) return;
          const take = pending.subarray(0, Math.min(current.left, pending.length));
          writeSync(current.fd, take);
          current.hash.update(take);
          current.left -= take.length;
          pending = pending.subarray(take.length);
          continue;
        }
        if (pending.length < current.pad) return;
        pending = pending.subarray(current.pad);
        closeSync(current.fd);
        current.entry.sha256 = current.hash.digest('hex');
        entries.push(current.entry);
        current = null;
      }
      if (pending.length < BLOCK) return;
      const block = pending.subarray(0, BLOCK);
      pending = pending.subarray(BLOCK);
      if (block.every((b) => b === 0)) {
        ended = true;
        return;
      }
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
      if (sum !== parseInt(field(block, 148, 8).trim(), 8)) throw new Error('tar header checksum mismatch');
      const type = field(block, 156, 1);
      if (type !== '0' && type !== '') throw new Error(`unexpected tar entry type ${JSON.stringify(type)}`);
      const prefix = field(block, 345, 155);
      const name = safeEntryName(prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
      const size = parseInt(field(block, 124, 12).trim(), 8);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error('bad tar entry size');
      const target = path.join(dest, name);
      mkdirSync(path.dirname(target), { recursive: true });
      current = {
        entry: { name, size, sha256: '' },
        fd: openSync(target, 'wx', 0o600),
        left: size,
        pad: (BLOCK - (size % BLOCK)) % BLOCK,
        hash: createHash('sha256'),
      };
    }
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      try {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        consume();
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    final(done) {
      done(ended ? null : new Error('the archive ends early (truncated)'));
    },
  });
  try {
    await pipeline(typeof archive === 'string' ? createReadStream(archive) : archive, createGunzip(), sink);
  } finally {
    if (current) closeSync((current as { fd: number }).fd);
  }
  return entries;
}
