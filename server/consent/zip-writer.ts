import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { crc32, createDeflateRaw } from 'node:zlib';

interface Entry {
  name: Buffer;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
  dosTime: number;
  dosDate: number;
}

const FLAGS = 0x0008 | 0x0800; // sizes in a data descriptor after the data; UTF-8 names
const LIMIT = 0xffffffff;

/**
 * A streaming ZIP (deflate, data descriptors, no ZIP64): each entry is compressed as it is written, so an export
 * never holds a whole file in memory. Entries and the archive stay under 4 GiB (documents are capped at 25 MB).
 */
export class ZipWriter {
  readonly #out: Writable;
  readonly #entries: Entry[] = [];
  #offset = 0;

  constructor(out: Writable) {
    this.#out = out;
  }

  async #write(chunk: Buffer): Promise<void> {
    this.#offset += chunk.length;
    if (!this.#out.write(chunk)) await once(this.#out, 'drain');
  }

  /** Adds one file: its bytes given, or streamed from `source`. */
  async add(name: string, source: Buffer | Readable, at = new Date()): Promise<void> {
    const nameBytes = Buffer.from(name, 'utf8');
    const dosTime = (at.getHours() << 11) | (at.getMinutes() << 5) | Math.floor(at.getSeconds() / 2);
    const dosDate = ((Math.max(at.getFullYear(), 1980) - 1980) << 9) | ((at.getMonth() + 1) << 5) | at.getDate();
    const entry: Entry = { name: nameBytes, crc: 0, compressed: 0, size: 0, offset: this.#offset, dosTime, dosDate };
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(FLAGS, 6);
    header.writeUInt16LE(8, 8);
    header.writeUInt16LE(dosTime, 10);
    header.writeUInt16LE(dosDate, 12);
    header.writeUInt16LE(nameBytes.length, 26);
    await this.#write(Buffer.concat([header, nameBytes]));
    const deflate = createDeflateRaw();
    const pumped = (async () => {
      for await (const chunk of deflate as AsyncIterable<Buffer>) {
        entry.compressed += chunk.length;
        await this.#write(chunk);
      }
    })();
    const feed = async (chunk: Buffer) => {
      entry.crc = crc32(chunk, entry.crc);
      entry.size += chunk.length;
      if (!deflate.write(chunk)) await once(deflate, 'drain');
    };
    if (Buffer.isBuffer(source)) await feed(source);
    else for await (const chunk of source as AsyncIterable<Buffer>) await feed(chunk);
    deflate.end();
    await pumped;
    if (entry.size > LIMIT || entry.compressed > LIMIT || this.#offset > LIMIT)
      throw new Error('ZIP entry too large for a ZIP without ZIP64');
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(entry.crc >>> 0, 4);
    descriptor.writeUInt32LE(entry.compressed, 8);
    descriptor.writeUInt32LE(entry.size, 12);
    await this.#write(descriptor);
    this.#entries.push(entry);
  }

  /** Writes the central directory and ends the output. */
  async finish(): Promise<void> {
    const start = this.#offset;
    for (const e of this.#entries) {
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE(20, 4);
      h.writeUInt16LE(20, 6);
      h.writeUInt16LE(FLAGS, 8);
      h.writeUInt16LE(8, 10);
      h.writeUInt16LE(e.dosTime, 12);
      h.writeUInt16LE(e.dosDate, 14);
      h.writeUInt32LE(e.crc >>> 0, 16);
      h.writeUInt32LE(e.compressed, 20);
      h.writeUInt32LE(e.size, 24);
      h.writeUInt16LE(e.name.length, 28);
      h.writeUInt32LE(e.offset, 42);
      await this.#write(Buffer.concat([h, e.name]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.#entries.length, 8);
    end.writeUInt16LE(this.#entries.length, 10);
    end.writeUInt32LE(this.#offset - start, 12);
    end.writeUInt32LE(start, 16);
    await this.#write(end);
    this.#out.end();
  }
}
