import { finished, type Readable, Transform, type TransformCallback } from 'node:stream';
import { MailParser, type AttachmentStream, type HeaderLines, type MessageText } from 'mailparser';
import { HeaderLimit } from './header-limit.ts';
import { Tap, attachmentMeta, headerBlock, partialOf, unpackTnef, yencLabelled } from './mail-attachments.ts';
import { addresses, dateOf, first, firstMessageId, readHeaders, references, subjectOf } from './mail-headers.ts';
import { Problems, stripNul } from './mime-text.ts';
import type { ParseOptions, ParsedAttachment, ParsedMail } from './parsed-mail.ts';
import { checkCharsets, decodeUndeclaredText } from './parser-charset.ts';

// the types moved to parsed-mail.ts; callers keep importing them from here
export type { ParseOptions, ParsedAddress, ParsedAttachment, ParsedMail, StoreAttachment } from './parsed-mail.ts';

const MAX_REPORT_PART = 64 * 1024;

const DELIVERY_STATUS = new Set(['message/delivery-status', 'message/global-delivery-status']);
const FEEDBACK_REPORT = 'message/feedback-report';
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
  captureEmbeddedHeaders(parser, (block) => (found.returnedHeaders ??= stripNul(block) || null));

  const attachments: (ParsedAttachment[] | null)[] = [];
  const storing: Promise<void>[] = [];
  const open = new Set<Readable>();
  const found: {
    headerLines: HeaderLines;
    body: MessageText | null;
    deliveryStatus: string | null;
    returnedHeaders: string | null;
    feedbackReport: string | null;
  } = { headerLines: [], body: null, deliveryStatus: null, returnedHeaders: null, feedbackReport: null };
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
        : meta.contentType === FEEDBACK_REPORT
          ? 'feedback'
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
      if (tap && capture === 'feedback') found.feedbackReport ??= stripNul(tap.text()) || null;
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
    feedbackReport: found.feedbackReport,
    problems: problems.list,
    notices: [...notices],
  };
  return parsed;
}

function ignore() {}

/**
 * A message/rfc822 part shown inline (how ARF reports and many DSNs return the original) is parsed by mailparser as
 * a message of its own, never an attachment: its header block is taken as that message's node is made.
 */
function captureEmbeddedHeaders(parser: MailParser, onHeaders: (block: string) => void) {
  // mailparser's node factory is an undocumented field (parser-charset.ts wraps it too); used only when present
  const internals = parser as unknown as { createNode?: (node: unknown) => unknown };
  const createNode = internals.createNode?.bind(parser);
  if (!createNode) return;
  internals.createNode = (raw) => {
    const node = raw as { parentNode?: { contentType?: string }; headers?: { lines?: { line?: unknown }[] } };
    const lines = node.parentNode?.contentType === 'message/rfc822' ? node.headers?.lines : undefined;
    if (lines) {
      const block = lines.map((l) => (typeof l.line === 'string' ? l.line : '')).join('\r\n');
      onHeaders(block.slice(0, MAX_REPORT_PART));
    }
    return createNode(raw);
  };
}

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
