import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/harness.ts';
import { fileBlobStore } from './blob-store.ts';

/** Every file under `dir`, relative to it. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));

describe('fileBlobStore.put', () => {
  let dir: ReturnType<typeof tempDir>;
  afterEach(() => dir?.remove());

  it('leaves no .part file behind when the source stream errors midway', async () => {
    dir = tempDir('filo-blobs-');
    const store = fileBlobStore(dir.dir);
    const source = new Readable({
      read() {
        this.push(Buffer.from('the first half'));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(store.put(source, { prefix: 'documents', maxBytes: 1024 })).rejects.toThrow('client went away');
    expect(filesUnder(dir.dir)).toEqual([]);
  });

  it('keeps a complete blob under its key, and nothing else', async () => {
    dir = tempDir('filo-blobs-');
    const store = fileBlobStore(dir.dir);
    const blob = await store.put(Readable.from([Buffer.from('hello '), Buffer.from('world')]), {
      prefix: 'documents',
      maxBytes: 1024,
    });
    expect(blob).toMatchObject({ size: 11, complete: true });
    expect(readFileSync(store.path(blob.key), 'utf8')).toBe('hello world');
    expect(filesUnder(dir.dir)).toEqual([blob.key]);
  });
});
