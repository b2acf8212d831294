import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { classify, type MailClass } from '../../mail/classify.ts';
import { parseMail, type ParsedMail, type StoreAttachment } from '../../mail/parse.ts';
import { sanitizeEmailHtml } from '../../mail/sanitize.ts';
import {
  HEADER_COUNT,
  HUGE_PART_BYTES,
  INNERMOST_TEXT,
  hostileCorpus,
  hugePartContent,
  type HostileMail,
} from './hostile-corpus.ts';
import { unsafeParts } from './support.ts';

setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;
/** Twice: the second collection waits for the first one's sweeping, which frees Buffer memory in the background. */
const gc = () => {
  fullGc();
  fullGc();
};

interface Stored {
  fileName: string;
  bytes: number;
  sha256: string;
  largestChunk: number;
  /** How much of the source had been read when this part's first byte reached the store. */
  sourceReadAtFirstChunk: number;
}

interface Outcome {
  mail: ParsedMail;
  kind: MailClass;
  safeHtml: { html: string; hasRemoteImages: boolean } | null;
  stored: Stored[];
  sourceBytes: number;
  /** Live memory (heapUsed + arrayBuffers right after a full GC) every 4 MB of a part, at most, minus before parsing. */
  heapGrowth: number;
}

async function run(item: HostileMail): Promise<Outcome> {
  let sourceRead = 0;
  async function* chunks() {
    for (let i = 0; i < item.raw.length; i += 64 * 1024) {
      const chunk = item.raw.subarray(i, i + 64 * 1024);
      sourceRead += chunk.length;
      yield chunk;
    }
  }
  const memory = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const stored: Stored[] = [];
  gc();
  const before = memory();
  let peak = before;
  const storeAttachment: StoreAttachment = async (meta, content) => {
    const hash = createHash('sha256');
    const part: Stored = { fileName: meta.fileName, bytes: 0, sha256: '', largestChunk: 0, sourceReadAtFirstChunk: -1 };
    let nextCheck = 4 * 1024 * 1024;
    for await (const chunk of content as AsyncIterable<Buffer>) {
      if (part.sourceReadAtFirstChunk < 0) part.sourceReadAtFirstChunk = sourceRead;
      hash.update(chunk);
      part.bytes += chunk.length;
      part.largestChunk = Math.max(part.largestChunk, chunk.length);
      if (part.bytes >= nextCheck) {
        // garbage is not growth: what is still alive after a full GC is what the pipeline holds on to
        gc();
        peak = Math.max(peak, memory());
        nextCheck += 4 * 1024 * 1024;
      }
    }
    part.sha256 = hash.digest('hex');
    stored.push(part);
    return { size: part.bytes, stored: `blob:${stored.length}` };
  };
  const mail = await parseMail(Readable.from(chunks()), { storeAttachment });
  const kind = classify(mail, { mailFrom: 'mallory@evil.example' });
  const safeHtml = mail.html === null ? null : sanitizeEmailHtml(mail.html, { cidUrl: () => null });
  return { mail, kind, safeHtml, stored, sourceBytes: item.raw.length, heapGrowth: peak - before };
}

// eslint-disable-next-line no-control-regex
const LINE_BREAK_OR_NUL = /[\r\n\u0000]/;

const problem = (pattern: RegExp) => expect.arrayContaining([expect.stringMatching(pattern)]);

/** What each corpus item must still yield, beyond the checks every item gets. */
const expectations: Record<string, (o: Outcome) => void> = {
  'bad-boundary': ({ mail }) => {
    expect(mail.subject).toBe('boundary that never appears');
    expect(mail.text).toBeNull();
    expect(mail.problems).toEqual(problem(/no readable part \(missing or wrong boundary\)/));
  },
  'missing-boundary': ({ mail }) => {
    expect(mail.subject).toBe('multipart without a boundary');
    expect(mail.problems).toEqual(problem(/missing or wrong boundary/));
  },
  'unterminated-multipart': ({ mail }) => {
    expect(mail.text).toBe('first part');
    expect(mail.attachments).toEqual([
      { fileName: 'half.pdf', contentType: 'application/pdf', size: 12, cid: null, inline: false, stored: 'blob:1' },
    ]);
  },
  'encoded-word-garbage': ({ mail }) => {
    expect(mail.subject).toContain('✓');
    expect(mail.subject).toContain('à la carte');
    expect(mail.from?.address).toBe('mallory@evil.example');
    expect(mail.to.map((a) => a.address)).toEqual(['sales@acme.filo.test']);
    expect(mail.date).toBeNull();
    expect(mail.problems).toEqual(problem(/^unknown charset x-unknown in header$/));
    expect(mail.problems).toEqual(problem(/^date: unreadable$/));
  },
  'raw-latin1-headers': ({ mail }) => {
    expect(mail.subject).toBe('Café crème brûlée');
    expect(mail.from).toEqual({ address: 'andre@evil.example', name: 'André Müller' });
    expect(mail.problems).toEqual(problem(/^subject: 8-bit bytes that are not UTF-8/));
  },
  'nested-100': ({ mail }) => {
    expect(mail.text).toBe(INNERMOST_TEXT);
    expect(mail.problems).toEqual([]);
  },
  'headers-10000': ({ mail }) => {
    const kept = [...mail.headers.values()].reduce((n, values) => n + values.length, 0);
    expect(kept).toBe(1000);
    expect(mail.problems).toEqual([`too many headers: kept first 1000, dropped ${HEADER_COUNT + 4 - 1000}`]);
    expect(mail.subject).toBe('ten thousand headers');
    expect(mail.text).toBe('body after many headers\n');
  },
  'too-many-parts': ({ mail }) => {
    // mailsplit gives up past 1000 parts; the headers are still there
    expect(mail.subject).toBe('too many parts');
    expect(mail.from?.address).toBe('mallory@evil.example');
    expect(mail.problems).toEqual(problem(/^unreadable MIME structure: Max allowed child nodes exceeded/));
  },
  'long-header-line': ({ mail }) => {
    expect(mail.text).toBe('still here\n');
    expect(mail.headers.has('x-huge')).toBe(false);
    expect(mail.problems).toEqual(['header line too long: dropped']);
  },
  'unknown-charsets': ({ mail, safeHtml }) => {
    expect(mail.text).toMatch(/^qapla/);
    expect(mail.problems).toEqual(problem(/^unknown charset x-klingon$/));
    expect(mail.problems).toEqual(problem(/^unknown charset utf-7$/));
    // UTF-7 is never decoded, so +ADw-script+AD4- stays text
    expect(mail.html).not.toContain('<script');
    expect(safeHtml?.html).toBe('<p>+ADw-script+AD4-alert(1)+ADw-/script+AD4-</p>');
  },
  'huge-base64': ({ mail, stored, sourceBytes, heapGrowth }) => {
    expect(mail.text).toBe('See the attached file.');
    expect(mail.attachments).toEqual([
      { fileName: 'big.bin', contentType: 'application/octet-stream', size: HUGE_PART_BYTES, cid: null, inline: false, stored: 'blob:1' },
    ]); // prettier-ignore
    const [part] = stored;
    expect(part?.sha256).toBe(createHash('sha256').update(hugePartContent()).digest('hex'));
    // streamed: small chunks, the first one stored long before the message was read whole ...
    expect(part?.largestChunk).toBeLessThan(1024 * 1024);
    expect(part?.sourceReadAtFirstChunk).toBeGreaterThan(0);
    expect(part?.sourceReadAtFirstChunk).toBeLessThan(sourceBytes / 10);
    // ... and never held in memory: a part buffered up to the last check alone would be 12 MB
    expect(heapGrowth).toBeLessThan(HUGE_PART_BYTES / 4);
  },
  'nul-bytes': ({ mail }) => {
    expect(mail.subject).toBe('nul in subject');
    expect(mail.text).toBe('textwithnuls');
    expect(mail.html).toBe('<p>htmlwithnuls</p>');
    expect(mail.problems).toEqual(['text: NUL characters removed', 'html: NUL characters removed']);
  },
  'header-injection': ({ mail }) => {
    expect(mail.subject).toBe('Invoice Bcc: victim@example.org injected body');
    expect(mail.to).toEqual([{ address: 'sales@acme.filo.test', name: '' }]);
    expect(mail.cc).toEqual([]);
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.from?.address).toBe('mallory@evil.example');
    expect(mail.text).toBe('body\n');
  },
  'only-headers': ({ mail }) => {
    expect(mail.subject).toBe('headers and nothing else');
    expect(mail).toMatchObject({ text: null, html: null, attachments: [], problems: [] });
  },
  empty: ({ mail, kind }) => {
    expect(mail).toMatchObject({ subject: '', from: null, to: [], text: null, html: null, attachments: [] });
    expect(kind).toEqual({ kind: 'message' });
  },
  'no-blank-line': ({ mail }) => {
    expect(mail.subject).toBe('no separator');
    expect(mail.text).toBe('This line should have been the body.\nAnd this one.\n');
    expect(mail.problems).toEqual(['no blank line between headers and body']);
  },
  'xss-html': ({ mail, safeHtml }) => {
    expect(mail.html).toContain('onerror'); // the raw HTML is kept as sent ...
    expect(safeHtml?.html).toContain('<p>Hello <b>there</b></p>'); // ... and shown only sanitized
    expect(safeHtml?.hasRemoteImages).toBe(true);
    expect(safeHtml?.html).toContain('data-remote-src="https://evil.example/pixel.gif"');
  },
  'garbage-dsn': ({ kind, mail }) => {
    expect(mail.deliveryStatus).toContain('Status: 9.9.9.9');
    expect(kind).toEqual({
      kind: 'bounce',
      status: null,
      action: null,
      recipients: [],
      permanent: false,
      originalMessageId: null,
      failures: [],
    });
  },
};

const corpus = hostileCorpus();

describe('hostile corpus', () => {
  it('has CRLF-only, complete messages and an expectation for every item', () => {
    expect(Object.keys(expectations).sort()).toEqual(corpus.map((c) => c.name).sort());
    for (const { name, raw } of corpus) {
      expect(/(?<!\r)\n|\r(?!\n)/.test(raw.toString('latin1')), name).toBe(false);
      if (raw.length) expect(raw.subarray(-2).toString(), name).toBe('\r\n');
    }
    const huge = corpus.find((c) => c.name === 'huge-base64');
    expect(huge?.raw.length).toBeGreaterThan(20_000_000);
  });

  it.each(corpus.map((item) => [item.name, item] as const))('%s', async (_name, item) => {
    const outcome = await run(item);
    const { mail, kind, safeHtml, stored } = outcome;

    expect(mail.text ?? '').not.toContain('\u0000');
    expect(mail.html ?? '').not.toContain('\u0000');
    expect(mail.subject).not.toMatch(LINE_BREAK_OR_NUL);
    expect(mail.subject.length).toBeLessThanOrEqual(998);
    for (const a of [mail.from, ...mail.to, ...mail.cc, ...mail.replyTo]) {
      if (a) expect(`${a.address}|${a.name}`).not.toMatch(LINE_BREAK_OR_NUL);
    }
    for (const values of mail.headers.values()) {
      for (const value of values) expect(value).not.toMatch(LINE_BREAK_OR_NUL);
    }
    for (const p of mail.problems) expect(p).not.toMatch(/[\r\n]/);

    // every attachment went through the store, and the sizes add up
    expect(mail.attachments.map((a) => a.fileName)).toEqual(stored.map((s) => s.fileName));
    expect(mail.attachments.map((a) => a.size)).toEqual(stored.map((s) => s.bytes));

    expect(['message', 'auto_reply', 'bounce']).toContain(kind.kind);
    if (safeHtml) expect(unsafeParts(safeHtml.html)).toEqual([]);

    expectations[item.name]?.(outcome);
  });
});
