import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { HeaderLimit, MAX_HEADER_BLOCK_BYTES } from '../../mail-gateway/pipeline/header-limit.ts';

async function limit(raw: string | Buffer, maxHeaders: number, chunkSize = 1 << 16) {
  const problems: string[] = [];
  const bytes = Buffer.from(raw);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const out = await buffer(Readable.from(chunks).pipe(new HeaderLimit(maxHeaders, (p) => problems.push(p))));
  return { out: out.toString('latin1'), problems };
}

describe('HeaderLimit', () => {
  it('passes a message within the limits through byte for byte', async () => {
    const raw = 'From: a@example.org\r\nSubject: hi\r\n folded\r\n\r\nX-Not-A-Header: in the body\r\nbody\r\n';
    expect(await limit(raw, 10)).toEqual({ out: raw, problems: [] });
  });

  it('keeps the first N fields with their continuation lines and drops the rest, body untouched', async () => {
    const raw = 'A: 1\r\nB: 2\r\n 2b\r\nC: 3\r\n 3b\r\nD: 4\r\n\r\nE: not a header\r\n';
    const { out, problems } = await limit(raw, 2);
    expect(out).toBe('A: 1\r\nB: 2\r\n 2b\r\n\r\nE: not a header\r\n');
    expect(problems).toEqual(['too many headers: kept first 2, dropped 2']);
  });

  it('gives the same result whatever the chunking', async () => {
    const raw = 'A: 1\r\nB: 2\r\n 2b\r\nC: 3\r\n\r\nbody line\r\nmore\r\n';
    const whole = await limit(raw, 2);
    for (const size of [1, 2, 3, 7]) expect(await limit(raw, 2, size)).toEqual(whole);
  });

  it('starts the body at the first line that is not a header when the blank line is missing', async () => {
    const { out, problems } = await limit('From: a@example.org\r\nSubject: x\r\nHello there\r\nBye: now\r\n', 10);
    expect(out).toBe('From: a@example.org\r\nSubject: x\r\n\r\nHello there\r\nBye: now\r\n');
    expect(problems).toEqual(['no blank line between headers and body']);
  });

  it('drops an mbox "From " line in front of the headers', async () => {
    const { out } = await limit('From alice@example.org Mon Jan  6 10:00:00 2025\r\nSubject: x\r\n\r\nbody', 10);
    expect(out).toBe('Subject: x\r\n\r\nbody');
  });

  it('drops a header line longer than the header block may be, without buffering it', async () => {
    const huge = `X-Huge: ${'a'.repeat(MAX_HEADER_BLOCK_BYTES + 100_000)}`;
    const { out, problems } = await limit(`Subject: x\r\n${huge}\r\nTo: b@example.org\r\n\r\nbody`, 10, 4096);
    expect(out).toBe('Subject: x\r\nTo: b@example.org\r\n\r\nbody');
    expect(problems).toEqual(['header line too long: dropped']);
  });

  it('stops keeping fields once the header block reaches its byte limit', async () => {
    const line = `X-Big: ${'b'.repeat(100 * 1024)}\r\n`;
    const { out, problems } = await limit(`Subject: x\r\n${line.repeat(8)}\r\nbody`, 1000);
    // Subject and five 100 KiB fields fit in 512 KiB, the other three do not
    expect(out).toBe(`Subject: x\r\n${line.repeat(5)}\r\nbody`);
    expect(problems).toEqual([expect.stringMatching(/^header block too large: dropped 3 lines/)]);
  });

  it('keeps headers without a body (no blank line at all)', async () => {
    expect((await limit('Subject: x\r\nTo: y@example.org', 10)).out).toBe('Subject: x\r\nTo: y@example.org');
  });
});
