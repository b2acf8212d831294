import { isUtf8 } from 'node:buffer';
import { Readable, Transform, finished, type TransformCallback } from 'node:stream';
import {
  MailParser,
  parseAddressHeader,
  type AttachmentStream,
  type EmailAddress,
  type HeaderLines,
  type MessageText,
} from 'mailparser';
import { decodeUndeclared } from './charset.ts';
import { HeaderLimit } from './header-limit.ts';
import { isTnef, readTnef } from './tnef.ts';

export interface ParsedAddress {
  /** Lower-cased. */
  address: string;
  /** '' when the header gave none. */
  name: string;
}

export interface ParsedAttachment {
  fileName: string;
  contentType: string;
  size: number;
  cid: string | null;
  inline: boolean;
  /** Whatever `storeAttachment` returned. */
  stored: unknown;
}

export interface ParsedMail {
  /** Message ids are given without angle brackets. */
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  subject: string;
  from: ParsedAddress | null;
  to: ParsedAddress[];
  cc: ParsedAddress[];
  replyTo: ParsedAddress[];
  date: Date | null;
  text: string | null;
  html: string | null;
  /** Top-level header fields: lower-cased name -> values as written (unfolded, not decoded), in order. */
  headers: Map<string, string[]>;
  attachments: ParsedAttachment[];
  /** Text of the first message/delivery-status part (RFC 3464), at most 64 KiB; null when there is none. */
  deliveryStatus: string | null;
  /** Header block of the first text/rfc822-headers or message/rfc822 part (a bounce's original message), or null. */
  returnedHeaders: string | null;
  /** What could not be read, for the record: the rest of the message is still returned. */
  problems: string[];
  /** What the reader should be told (codes): `tnef` unpacked, `yenc` not decoded, `partial` a fragment. */
  notices: string[];
}

export interface StoreAttachment {
  (
    meta: { fileName: string; contentType: string; cid: string | null; inline: boolean },
    content: Readable,
  ): Promise<{ size: number; stored: unknown }>;
}

export interface ParseOptions {
  storeAttachment: StoreAttachment;
  /** Top-level header fields beyond this are dropped (and recorded in problems). Default 1000. */
  maxHeaders?: number;
  /** Text and HTML are each cut to this many UTF-8 bytes. Default 2 MiB. */
  maxTextBytes?: number;
}

const MAX_SUBJECT = 998;
const MAX_ADDRESS = 320;
const MAX_NAME = 320;
const MAX_ADDRESSES = 1000;
const MAX_MESSAGE_ID = 998;
const MAX_REFERENCES = 100;
const MAX_HEADER_VALUE = 8192;
const MAX_FILE_NAME = 255;
const MAX_REPORT_PART = 64 * 1024;
const MAX_PROBLEMS = 50;

const MAX_TNEF_BYTES = 25 * 1024 * 1024;
/** The charset mailparser is given for a text part that declared none, UTF-8 or ASCII: ours to decode. */
const UNDECLARED = 'x-filo-undeclared';

const DELIVERY_STATUS = new Set(['message/delivery-status', 'message/global-delivery-status']);
const RETURNED_MESSAGE = new Set(['text/rfc822-headers', 'message/rfc822', 'message/global', 'message/global-headers']);

/**
 * Reads one message with mailparser's streaming parser. Attachments are streamed to `storeAttachment` one at a time,
 * never held in memory. Garbage never throws: what cannot be read is listed in `problems` and the rest is returned.
 * Rejects only when `source` fails or `storeAttachment` rejects (the store failed, not the message).
 */
export async function parseMail(source: Readable, opts: ParseOptions): Promise<ParsedMail> {
  const maxTextBytes = opts.maxTextBytes ?? 2 * 1024 * 1024;
  const problems = new Problems();
  const limiter = new HeaderLimit(opts.maxHeaders ?? 1000, (p) => problems.add(p));
  const parser = new MailParser({
    keepDeliveryStatus: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    checksumAlgo: false,
    maxHtmlLengthToParse: maxTextBytes,
  });
  const notices = new Set<string>();
  decodeUndeclaredText(parser, problems);

  const attachments: (ParsedAttachment[] | null)[] = [];
  const storing: Promise<void>[] = [];
  const open = new Set<Readable>();
  const found: {
    headerLines: HeaderLines;
    body: MessageText | null;
    deliveryStatus: string | null;
    returnedHeaders: string | null;
  } = { headerLines: [], body: null, deliveryStatus: null, returnedHeaders: null };
  let structureBroken = false;
  let storeError: unknown = null;

  const store = async (att: AttachmentStream) => {
    if (storeError) {
      // parseMail rejects anyway: read past the rest without storing it
      att.content.on('error', ignore).resume();
      att.release?.();
      return;
    }
    const slot = attachments.push(null) - 1;
    const meta = attachmentMeta(att);
    const partial = partialOf(att);
    if (partial) {
      notices.add('partial');
      problems.add(`message/partial: fragment ${partial} of a message sent in parts, not reassembled`);
      meta.fileName = `message-part-${partial.replace(/\D+/g, '-of-')}.eml`;
    }
    const tnef = meta.contentType === 'application/ms-tnef' || /^winmail\.dat$/i.test(meta.fileName);
    const capture = DELIVERY_STATUS.has(meta.contentType)
      ? 'status'
      : RETURNED_MESSAGE.has(meta.contentType)
        ? 'headers'
        : null;
    const tap = capture && new Tap(MAX_REPORT_PART);
    const content: Readable = tap ? att.content.pipe(tap) : att.content;
    if (tap) att.content.on('error', (err) => tap.destroy(err));
    // the store sees a failure through its own read; without these a store that stopped reading would crash the process
    att.content.on('error', ignore);
    content.on('error', ignore);
    open.add(att.content);
    try {
      if (tnef) {
        attachments[slot] = await unpackTnef(meta, content, opts.storeAttachment, problems, notices);
        return;
      }
      const { size, stored } = await opts.storeAttachment(meta, content);
      attachments[slot] = [{ ...meta, size, stored }];
      if (tap && capture === 'status') found.deliveryStatus ??= stripNul(tap.text()) || null;
      if (tap && capture === 'headers') found.returnedHeaders ??= stripNul(headerBlock(tap.text())) || null;
    } catch (err) {
      if (structureBroken) problems.add(`attachment ${meta.fileName}: cut short`);
      else storeError ??= err;
    } finally {
      open.delete(att.content);
      att.release?.();
      // whatever the store left unread is drained so that the parser can go on
      content.resume();
      att.content.resume();
    }
  };

  parser.on('headerLines', (lines) => (found.headerLines = lines));
  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'attachment') storing.push(store(data));
    else found.body = data;
  });

  const bom = new StripBom();
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', (err: Error) => {
      structureBroken = true;
      problems.add(`unreadable MIME structure: ${err.message}`);
      for (const stream of open) stream.destroy(new Error('message structure broken'));
      source.unpipe(bom);
      bom.unpipe(limiter);
      source.resume(); // drain the rest, whoever else reads the source is not held up
      resolve();
    });
    // an error, or a close before the end (a dropped connection), means there is no whole message to read
    finished(source, { writable: false }, (err) => {
      if (!err) return;
      for (const stream of open) stream.destroy(err);
      parser.destroy();
      reject(err);
    });
    source.pipe(bom).pipe(limiter).pipe(parser);
  });
  await Promise.all(storing);
  if (storeError) throw storeError;

  const { headerLines, body: text } = found;
  if (text?.textConversionError) problems.add(`html not converted to text: ${text.textConversionError.message}`);
  checkCharsets(parser, headerLines, problems);
  const headers = readHeaders(headerLines);
  const empty = !text?.text && !text?.html && !attachments.length;
  if (empty && !structureBroken && /^multipart\//i.test(first(headers, 'content-type') ?? '')) {
    problems.add('multipart body has no readable part (missing or wrong boundary)');
  }
  const parsed: ParsedMail = {
    messageId: firstMessageId(first(headers, 'message-id')),
    inReplyTo: firstMessageId(first(headers, 'in-reply-to')),
    references: references(headers.get('references') ?? []),
    subject: subjectOf(parser, headerLines, problems),
    from: addresses(headers.get('from'), 'from', problems)[0] ?? null,
    to: addresses(headers.get('to'), 'to', problems),
    cc: addresses(headers.get('cc'), 'cc', problems),
    replyTo: addresses(headers.get('reply-to'), 'reply-to', problems),
    date: dateOf(first(headers, 'date'), problems),
    text: yencLabelled(bodyText(text?.text, 'text', maxTextBytes, problems), problems, notices),
    html: bodyText(text?.html, 'html', maxTextBytes, problems),
    headers,
    attachments: attachments.flatMap((a) => a ?? []),
    deliveryStatus: found.deliveryStatus,
    returnedHeaders: found.returnedHeaders,
    problems: problems.list,
    notices: [...notices],
  };
  return parsed;
}

function ignore() {}

/** A leading UTF-8 byte order mark (some Windows tools write one) would make the header block body text. */
class StripBom extends Transform {
  #head: Buffer | null = Buffer.alloc(0);
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    if (!this.#head) return done(null, chunk);
    const head = Buffer.concat([this.#head, chunk]);
    if (head.length < 3 && head.equals(BOM.subarray(0, head.length))) {
      this.#head = head;
      return done();
    }
    this.#head = null;
    done(null, head.subarray(0, 3).equals(BOM) ? head.subarray(3) : head);
  }
  override _flush(done: TransformCallback) {
    done(null, this.#head?.length ? this.#head : undefined);
  }
}
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

interface ParserInternals {
  createNode(node: unknown): { contentType?: string; charset?: string; isAttachment?: boolean } | undefined;
  decoder: { decodeStream(charset: string): Transform };
}

/**
 * Text parts that declared UTF-8, US-ASCII or nothing are decoded by us (mailparser reads them as UTF-8, replacing
 * every other byte): Windows-1252 labelled UTF-8, raw 8-bit mail, HTML whose charset is only in its `<meta>`.
 */
function decodeUndeclaredText(parser: MailParser, problems: Problems) {
  // mailparser's node factory and decoder are undocumented fields; used only when present
  const internals = parser as unknown as Partial<ParserInternals>;
  const createNode = internals.createNode?.bind(parser);
  const original = internals.decoder;
  if (!createNode || !original) return;
  internals.createNode = (raw) => {
    const node = createNode(raw);
    const type = node?.contentType;
    const charset = (node?.charset ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '');
    if (node && !node.isAttachment && (type === 'text/plain' || type === 'text/html')) {
      if (!charset || charset === 'utf8' || charset === 'ascii' || charset === 'usascii') {
        node.charset = `${UNDECLARED}-${type === 'text/html' ? 'html' : 'text'}-${charset ? 'declared' : 'none'}`;
      }
    }
    return node;
  };
  internals.decoder = {
    decodeStream(charset: string) {
      if (!charset.startsWith(UNDECLARED)) return original.decodeStream(charset);
      const html = charset.includes('-html-');
      const declared = charset.endsWith('-declared');
      return new Collect((bytes) => {
        const { text, via } = decodeUndeclared(bytes, { html, declared });
        if (via)
          problems.add(`${html ? 'html' : 'text'}: ${declared ? 'not UTF-8' : 'no charset declared'}, read as ${via}`);
        return Buffer.from(text, 'utf8');
      });
    },
  };
}

/** Collects a whole part and passes on what `finish` makes of it. */
class Collect extends Transform {
  readonly #chunks: Buffer[] = [];
  readonly #finish: (bytes: Buffer) => Buffer;
  constructor(finish: (bytes: Buffer) => Buffer) {
    super();
    this.#finish = finish;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.#chunks.push(chunk);
    done();
  }
  override _flush(done: TransformCallback) {
    done(null, this.#finish(Buffer.concat(this.#chunks)));
  }
}

/** `n/t` of a message/partial part (RFC 2046 5.2.2), or null when it is not one. */
function partialOf(att: AttachmentStream): string | null {
  if (att.contentType?.toLowerCase() !== 'message/partial') return null;
  const value = att.headers?.get('content-type') as { params?: Record<string, string> } | undefined;
  const number = /^\d{1,6}$/.test(value?.params?.number ?? '') ? value!.params!.number : '?';
  const total = /^\d{1,6}$/.test(value?.params?.total ?? '') ? value!.params!.total : '?';
  return `${number}/${total}`;
}

/** A winmail.dat read whole (bounded) and stored as the files it carries; as itself when it carries none. */
async function unpackTnef(
  meta: Parameters<StoreAttachment>[0],
  content: Readable,
  storeAttachment: StoreAttachment,
  problems: Problems,
  notices: Set<string>,
): Promise<ParsedAttachment[]> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let whole = true;
  for await (const chunk of content as AsyncIterable<Buffer>) {
    if (bytes + chunk.length > MAX_TNEF_BYTES) whole = false;
    if (!whole) continue;
    chunks.push(chunk);
    bytes += chunk.length;
  }
  const data = Buffer.concat(chunks);
  const files = whole && isTnef(data) ? readTnef(data) : [];
  if (!files.length) {
    problems.add(
      whole ? `${meta.fileName}: no files found in the TNEF container` : `${meta.fileName}: too large to unpack`,
    );
    const { size, stored } = await storeAttachment(meta, Readable.from([data]));
    return [{ ...meta, size, stored }];
  }
  notices.add('tnef');
  const out: ParsedAttachment[] = [];
  for (const file of files) {
    const fileMeta = {
      fileName: fileName(file.fileName, 'application/octet-stream', null),
      contentType: 'application/octet-stream',
      cid: null,
      inline: false,
    };
    const { size, stored } = await storeAttachment(fileMeta, Readable.from([file.data]));
    out.push({ ...fileMeta, size, stored });
  }
  return out;
}

/** A yEnc-encoded file in a text body is shown as a label, not as pages of 8-bit noise. */
function yencLabelled(text: string | null, problems: Problems, notices: Set<string>): string | null {
  if (!text || !text.includes('=ybegin')) return text;
  const out = text.replace(/^=ybegin\b([^\n]*)\n[\s\S]*?(?:^=yend\b[^\n]*(?:\n|$)|(?![\s\S]))/gm, (_, head: string) => {
    const name = singleLine(/\bname=(.*)$/.exec(head)?.[1] ?? '').slice(0, MAX_FILE_NAME) || 'unnamed';
    const size = /\bsize=(\d{1,12})\b/.exec(head)?.[1];
    notices.add('yenc');
    problems.add(`yEnc-encoded file ${name}: not decoded`);
    return `[yEnc-encoded file: ${name}${size ? `, ${size} bytes` : ''}]\n`;
  });
  return out;
}

class Problems {
  readonly list: string[] = [];
  add(problem: string) {
    const clean = singleLine(problem).slice(0, 300);
    if (this.list.includes(clean)) return;
    if (this.list.length < MAX_PROBLEMS) this.list.push(clean);
  }
}

/** Passes content through and keeps a copy of its first `max` bytes. */
class Tap extends Transform {
  readonly #max: number;
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  constructor(max: number) {
    super();
    this.#max = max;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    if (this.#bytes < this.#max) {
      const part = chunk.subarray(0, this.#max - this.#bytes);
      this.#chunks.push(part);
      this.#bytes += part.length;
    }
    done(null, chunk);
  }
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

function attachmentMeta(att: AttachmentStream) {
  const contentType = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(att.contentType ?? '')
    ? att.contentType.toLowerCase().slice(0, 255)
    : 'application/octet-stream';
  const cid = att.cid ? singleLine(att.cid).slice(0, MAX_MESSAGE_ID) || null : null;
  const inline = att.contentDisposition === 'inline' || (!!cid && att.related === true);
  return { fileName: fileName(att.filename, contentType, att.partId), contentType, cid, inline };
}

function fileName(name: string | undefined, contentType: string, partId: string | null): string {
  const clean = stripControls(name ?? '')
    .replace(/[/\\]/g, '_')
    .trim()
    .slice(0, MAX_FILE_NAME);
  if (clean && clean !== '.' && clean !== '..') return clean;
  const ext = contentType === 'message/rfc822' ? '.eml' : /^text\/|delivery-status$/.test(contentType) ? '.txt' : '';
  return `part-${partId ?? '1'}${ext}`;
}

/** The top-level header block as name -> values, unfolded; 8-bit bytes read as UTF-8, or Windows-1252 when not. */
function readHeaders(lines: HeaderLines): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (const { key, line } of lines) {
    if (!key) continue;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const value = stripControls(unfold(decodeRaw(line.slice(colon + 1))))
      .trim()
      .slice(0, MAX_HEADER_VALUE);
    const list = headers.get(key);
    if (list) list.push(value);
    else headers.set(key, [value]);
  }
  return headers;
}

function first(headers: Map<string, string[]>, key: string): string | undefined {
  return headers.get(key)?.[0];
}

/** Header lines come from mailsplit as binary strings, one char per byte. */
function decodeRaw(binary: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(binary)) return binary;
  const bytes = Buffer.from(binary, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : new TextDecoder('windows-1252').decode(bytes);
}

function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, '').replace(/[\r\n]+/g, ' ');
}

/** Control characters (NUL, CR, LF and the rest of C0, DEL) become spaces: no header injection, no \u0000. */
function stripControls(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ');
}

function singleLine(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}

function stripNul(value: string): string {
  return value.replaceAll('\u0000', '');
}

/** Cuts a string to `max` chars without leaving half a surrogate pair. */
function cut(value: string, max: number): string {
  if (value.length <= max) return value;
  const end = /[\ud800-\udbff]/.test(value.charAt(max - 1)) ? max - 1 : max;
  return value.slice(0, end);
}

function subjectOf(parser: MailParser, lines: HeaderLines, problems: Problems): string {
  const raw = lines.find((l) => l.key === 'subject')?.line;
  let subject = typeof parser.subject === 'string' ? parser.subject : '';
  if (raw && !raw.includes('=?') && !isUtf8(Buffer.from(raw, 'latin1'))) {
    // raw 8-bit bytes that are not UTF-8: Windows-1252 is what such senders almost always mean
    subject = decodeRaw(unfold(raw.slice(raw.indexOf(':') + 1)));
    problems.add('subject: 8-bit bytes that are not UTF-8, read as Windows-1252');
  } else if (raw && subject.includes('\ufffd')) {
    // encoded words labelled UTF-8 whose bytes are not: read by their bytes, as text parts are
    const redecoded = utf8Words(unfold(raw.slice(raw.indexOf(':') + 1)));
    if (redecoded !== null) {
      subject = redecoded;
      problems.add('subject: encoded words labelled UTF-8 that are not, read by their bytes');
    }
  }
  subject = singleLine(subject.replace(/[\r\n\t]+/g, ' '));
  if (subject.includes('\ufffd')) problems.add('subject: characters that could not be decoded');
  return cut(subject, MAX_SUBJECT);
}

const ENCODED_WORDS = /=\?[^?\s]{1,64}\?[QqBb]\?[^?\s]*\?=(?:\s+=\?[^?\s]{1,64}\?[QqBb]\?[^?\s]*\?=)*/g;
const ENCODED_WORD = /=\?([^?\s*]{1,64})(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=/g;

/**
 * A header value whose UTF-8 encoded words hold other bytes (Windows-1252 mostly), decoded by those bytes; runs of
 * adjacent words are joined first (a character may be split across two). Null when a word is in another charset.
 */
function utf8Words(value: string): string | null {
  let foreign = false;
  // words are ASCII: 8-bit bytes around them are read first, the words after
  const out = decodeRaw(value).replace(ENCODED_WORDS, (run) => {
    const bytes: Buffer[] = [];
    for (const [, charset, encoding, payload] of run.matchAll(ENCODED_WORD)) {
      if (!/^utf-?8$/i.test(charset as string)) foreign = true;
      bytes.push(
        /b/i.test(encoding as string)
          ? Buffer.from(payload as string, 'base64')
          : Buffer.from(
              (payload as string)
                .replace(/_/g, ' ')
                .replace(/=([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
              'latin1',
            ),
      );
    }
    return decodeUndeclared(Buffer.concat(bytes), { html: false, declared: true }).text;
  });
  return foreign ? null : out;
}

function addresses(values: string[] | undefined, field: string, problems: Problems): ParsedAddress[] {
  if (!values?.length) return [];
  let parsed: EmailAddress[];
  try {
    parsed = parseAddressHeader(values).value;
  } catch {
    problems.add(`${field}: unreadable address list`);
    return [];
  }
  const out: ParsedAddress[] = [];
  const flat: EmailAddress[] = [];
  const stack = [...parsed].reverse();
  while (stack.length) {
    const entry = stack.pop() as EmailAddress;
    if (entry.group) stack.push(...[...entry.group].reverse());
    else flat.push(entry);
  }
  for (const entry of flat) {
    const address = singleLine(entry.address ?? '').toLowerCase();
    if (!address) continue;
    if (address.length > MAX_ADDRESS || !address.includes('@')) {
      problems.add(`${field}: invalid address dropped`);
      continue;
    }
    if (out.length >= MAX_ADDRESSES) {
      problems.add(`${field}: more than ${MAX_ADDRESSES} addresses, kept the first`);
      break;
    }
    out.push({ address, name: cut(singleLine(entry.name ?? ''), MAX_NAME) });
  }
  return out;
}

function messageIds(value: string): string[] {
  const bracketed = [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1] as string);
  const ids = bracketed.length ? bracketed : value.split(/[\s,]+/).filter((t) => t.includes('@'));
  return ids.map((id) => singleLine(id)).filter((id) => id && id.length <= MAX_MESSAGE_ID);
}

function firstMessageId(value: string | undefined): string | null {
  return value === undefined ? null : (messageIds(value)[0] ?? null);
}

/** The root and the most recent ids are the ones threading needs: keep the first and the last 99. */
function references(values: string[]): string[] {
  const ids = [...new Set(values.flatMap(messageIds))];
  return ids.length <= MAX_REFERENCES ? ids : [ids[0] as string, ...ids.slice(ids.length - (MAX_REFERENCES - 1))];
}

function dateOf(value: string | undefined, problems: Problems): Date | null {
  if (value === undefined) return null;
  const date = new Date(value.replace(/\s*\([^)]*\)\s*$/, ''));
  if (Number.isNaN(date.getTime())) {
    problems.add('date: unreadable');
    return null;
  }
  return date;
}

function bodyText(value: unknown, field: string, maxBytes: number, problems: Problems): string | null {
  if (typeof value !== 'string' || value === '') return null;
  let text = stripNul(value);
  if (text.length !== value.length) problems.add(`${field}: NUL characters removed`);
  if (Buffer.byteLength(text) > maxBytes) {
    const bytes = Buffer.from(text, 'utf8');
    let end = maxBytes;
    while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
    text = bytes.subarray(0, end).toString('utf8');
    problems.add(`${field}: longer than ${maxBytes} bytes, truncated`);
  }
  return text;
}

function headerBlock(text: string): string {
  const lines = text.split(/\r?\n/);
  const end = lines.findIndex((line) => line === '');
  return (end < 0 ? lines : lines.slice(0, end)).join('\r\n');
}

const WHATWG_LESS = /^(?:cp|ibm)-?\d+$|^utf-?32|^jis|^iso-?2022-?jp|^eucjp/i;
const charsetKnown = new Map<string, boolean>();

/** Whether libmime (mailparser's decoder) knows a charset; an unknown one is silently read as UTF-8. */
function knownCharset(name: string): boolean {
  const key = name.split('*')[0]?.trim().toLowerCase() ?? '';
  let known = charsetKnown.get(key);
  if (known === undefined) {
    if (/^(?:(?:cs)?unicode11)?utf-?7(?:-?imap)?$/.test(key)) known = false;
    else if (/^(?:us-?ascii|ascii|7bit|8bit|binary|utf-?8)$/.test(key) || WHATWG_LESS.test(key)) known = true;
    else {
      try {
        new TextDecoder(key);
        known = true;
      } catch {
        known = false;
      }
    }
    if (charsetKnown.size < 1000) charsetKnown.set(key, known);
  }
  return known;
}

interface TreeNode {
  charset?: unknown;
  children?: TreeNode[];
}

/** Records unknown charsets in encoded words and in text parts (mailparser decodes those as UTF-8 without a word). */
function checkCharsets(parser: MailParser, lines: HeaderLines, problems: Problems) {
  for (const { line } of lines) {
    for (const m of line.matchAll(/=\?([^?\s]{1,64})\?[QqBb]\?/g)) {
      if (!knownCharset(m[1] as string)) problems.add(`unknown charset ${m[1]} in header`);
    }
  }
  // mailparser keeps its MIME tree on an undocumented field; read it defensively
  const root = (parser as unknown as { tree?: TreeNode }).tree;
  const stack: TreeNode[] = root && typeof root === 'object' ? [root] : [];
  let visited = 0;
  while (stack.length && visited++ < 10_000) {
    const node = stack.pop() as TreeNode;
    if (typeof node.charset === 'string' && !node.charset.startsWith(UNDECLARED) && !knownCharset(node.charset)) {
      problems.add(`unknown charset ${singleLine(node.charset).slice(0, 64)}`);
    }
    if (Array.isArray(node.children)) stack.push(...node.children);
  }
}
