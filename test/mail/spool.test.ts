import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
});
