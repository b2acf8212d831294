import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import {
  HeaderLimit,
  HeaderMeter,
  MAX_FIELD_LINES,
  MAX_HEADER_BLOCK_BYTES,
  MAX_HEADER_LINES,
  SMTP_MAX_HEADER_BYTES,
  SMTP_MAX_HEADER_LINES,
} from '../../mail/header-limit.ts';

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

  it('drops an over-long header line the same way whether it comes whole or in pieces', async () => {
    const huge = `X-Huge: ${'a'.repeat(MAX_HEADER_BLOCK_BYTES + 100)}`;
    const raw = `Subject: x\r\n${huge}\r\nTo: b@example.org\r\n\r\nbody`;
    const whole = await limit(raw, 10, raw.length);
    expect(whole).toEqual({
      out: 'Subject: x\r\nTo: b@example.org\r\n\r\nbody',
      problems: ['header line too long: dropped'],
    });
    // in 64 KiB pieces the line passes the limit while pending; in 100 KiB ones it ends past it in the last piece
    for (const size of [1 << 16, 100 * 1024]) expect(await limit(raw, 10, size)).toEqual(whole);
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

  it('cuts a field folded over more than MAX_FIELD_LINES lines, keeping the fields after it', async () => {
    const raw = `Subject: s${'\r\n x'.repeat(40_000)}\r\nTo: b@example.org\r\n\r\nbody`;
    const { out, problems } = await limit(raw, 1000, 4096);
    expect(out).toBe(`Subject: s${'\r\n x'.repeat(MAX_FIELD_LINES - 1)}\r\nTo: b@example.org\r\n\r\nbody`);
    expect(problems).toEqual([`header field folded over more than ${MAX_FIELD_LINES} lines: dropped 39001 lines`]);
  });

  it('keeps at most MAX_HEADER_LINES lines of the header block, and says whether it cut anything', async () => {
    const fields = Array.from({ length: 10 }, (_, i) => `X-${i}: v${'\r\n x'.repeat(MAX_HEADER_LINES / 5 - 1)}\r\n`);
    const problems: string[] = [];
    const limiter = new HeaderLimit(1000, (p) => problems.push(p));
    const out = (await buffer(Readable.from([Buffer.from(`${fields.join('')}\r\nbody`)]).pipe(limiter))).toString();
    expect(out).toBe(`${fields.slice(0, 5).join('')}\r\nbody`);
    expect(problems).toEqual([`header block too long: dropped ${MAX_HEADER_LINES} lines past ${MAX_HEADER_LINES}`]);
    expect(limiter.truncated).toBe(true);
    const intact = new HeaderLimit(1000, () => {});
    await buffer(Readable.from([Buffer.from('Subject: x\r\n\r\nbody')]).pipe(intact));
    expect(intact.truncated).toBe(false);
  });
});

describe('HeaderMeter', () => {
  const measure = (raw: string, chunkSize = 1 << 16) => {
    const meter = new HeaderMeter();
    const bytes = Buffer.from(raw);
    for (let i = 0; i < bytes.length; i += chunkSize) meter.write(bytes.subarray(i, i + chunkSize));
    return meter;
  };

  it('counts the lines and bytes of the header block only, whatever the chunking', () => {
    const raw = 'From: a@example.org\r\nSubject: s\r\n folded\r\n\r\nX-Not: a header\r\nbody\r\n';
    for (const size of [1, 3, 1 << 16]) {
      const meter = measure(raw, size);
      expect({ lines: meter.lines, bytes: meter.bytes, done: meter.done }).toEqual({ lines: 3, bytes: 42, done: true });
    }
    expect(measure('Subject: x\r\nHello, no blank line\r\nA: b\r\n').lines).toBe(1);
  });

  it('finds absurd a block over SMTP_MAX_HEADER_LINES lines or SMTP_MAX_HEADER_BYTES bytes', () => {
    expect(measure(`Subject: s${'\r\n x'.repeat(SMTP_MAX_HEADER_LINES)}\r\n\r\n`).absurd).toBe(true);
    expect(measure(`Subject: s${'\r\n x'.repeat(SMTP_MAX_HEADER_LINES - 2)}\r\n\r\n`).absurd).toBe(false);
    // one line, still open: it counts before its end arrives
    expect(measure(`X-Huge: ${'a'.repeat(SMTP_MAX_HEADER_BYTES)}`).absurd).toBe(true);
    expect(measure(`Subject: s\r\n\r\n${'body line\r\n'.repeat(200_000)}`).absurd).toBe(false);
  });
});
