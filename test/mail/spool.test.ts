import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { open } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Spool } from '../../mail-gateway/spool.ts';

async function realFsyncDir(dir: string) {
  const handle = await open(dir, 'r');
  await handle.sync();
  await handle.close();
}

const root = mkdtempSync(path.join(tmpdir(), 'filo-spool-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('spool', () => {
  it('answers each write only after a folder sync that started after its file was made, sharing syncs', async () => {
    let clock = 0;
    const syncs: { dir: string; start: number; end: number }[] = [];
    let waves = 1;
    const wave = () => {
      if (waves < 3) startWave(25 * waves++);
    };
    const spool = new Spool(root, {
      fsyncDir: async (dir) => {
        const sync = { dir, start: ++clock, end: 0 };
        syncs.push(sync);
        // Files keep being made while syncs are in flight: a second and third wave of writes start here.
        if (dir !== root) wave();
        // As long as a real folder sync takes (twice), so that other writes make their files meanwhile.
        for (let i = 0; i < 2; i++) await realFsyncDir(dir);
        sync.end = ++clock;
      },
    });
    const made: number[] = [];
    const resolved: number[] = [];
    const source = (i: number) =>
      new Readable({
        read() {
          this.push(Buffer.from(`message ${i}\r\n`));
          this.push(null);
        },
      });
    const writes: Promise<Awaited<ReturnType<Spool['write']>>>[] = [];
    const startWave = (from: number) => {
      for (let i = from; i < from + 25; i++) {
        // Before the file exists: a sync covers it only if it starts after this.
        made[i] = ++clock;
        writes[i] = spool.write(source(i), 1000).then((m) => {
          resolved[i] = ++clock;
          return m;
        });
      }
    };
    startWave(0);
    await expect.poll(() => writes.length).toBe(75);
    const written = await Promise.all(writes);
    const day = path.dirname(spool.path(written[0]!.key));
    for (let i = 0; i < 75; i++) {
      const covering = syncs.find((s) => s.dir === day && s.start > made[i]! && s.end < resolved[i]!);
      expect(covering, `message ${i}`).toBeDefined();
      expect(readFileSync(spool.path(written[i]!.key), 'utf8')).toBe(`message ${i}\r\n`);
    }
    // Shared: far fewer folder syncs than messages.
    expect(syncs.filter((s) => s.dir === day).length).toBeLessThan(15);
  });

  it('drains an oversize message without keeping it', async () => {
    const spool = new Spool(root);
    const big = Readable.from(Array.from({ length: 10 }, () => Buffer.alloc(1000, 'a')));
    const m = await spool.write(big, 5000);
    expect(m).toMatchObject({ exceeded: true, size: 10_000 });
    expect(() => readFileSync(spool.path(m.key))).toThrow();
  });

  it('streams a message larger than what it gathers in memory, and removes one that outgrows the limit', async () => {
    const spool = new Spool(root);
    // 1 MB in 64 KB chunks, each chunk distinct: the gathered part and the streamed rest must both land in order.
    const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(64 * 1024, 97 + i));
    const m = await spool.write(Readable.from(chunks), 2 * 1024 * 1024);
    const all = Buffer.concat(chunks);
    expect(m).toMatchObject({ exceeded: false, size: all.length });
    expect(m.sha256).toBe(createHash('sha256').update(all).digest('hex'));
    expect(readFileSync(spool.path(m.key)).equals(all)).toBe(true);

    // Past the limit after its file was made (over 256 KB gathered): drained, and no file stays.
    const dir = path.dirname(spool.path(m.key));
    const before = readdirSync(dir).length;
    const over = await spool.write(Readable.from(chunks), 700 * 1024);
    expect(over).toMatchObject({ exceeded: true, size: all.length });
    expect(() => readFileSync(spool.path(over.key))).toThrow();
    expect(readdirSync(dir)).toHaveLength(before);
  });
});
