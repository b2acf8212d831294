// Attachment parts: safe names and types, winmail.dat unpacked, message/partial and yEnc labelled, reports tapped.
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { AttachmentStream } from 'mailparser';
import { MAX_FILE_NAME, MAX_MESSAGE_ID, singleLine, stripControls, type Problems } from './mime-text.ts';
import type { ParsedAttachment, StoreAttachment } from './parsed-mail.ts';
import { isTnef, readTnef } from './tnef.ts';

const MAX_TNEF_BYTES = 25 * 1024 * 1024;

/** `n/t` of a message/partial part (RFC 2046 5.2.2), or null when it is not one. */
export function partialOf(att: AttachmentStream): string | null {
  if (att.contentType?.toLowerCase() !== 'message/partial') return null;
  const value = att.headers?.get('content-type') as { params?: Record<string, string> } | undefined;
  const number = /^\d{1,6}$/.test(value?.params?.number ?? '') ? value!.params!.number : '?';
  const total = /^\d{1,6}$/.test(value?.params?.total ?? '') ? value!.params!.total : '?';
  return `${number}/${total}`;
}

/** A winmail.dat read whole (bounded) and stored as the files it carries; as itself when it carries none. */
export async function unpackTnef(
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
export function yencLabelled(text: string | null, problems: Problems, notices: Set<string>): string | null {
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

/** Passes content through and keeps a copy of its first `max` bytes. */
export class Tap extends Transform {
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

export function attachmentMeta(att: AttachmentStream) {
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

export function headerBlock(text: string): string {
  const lines = text.split(/\r?\n/);
  const end = lines.findIndex((line) => line === '');
  return (end < 0 ? lines : lines.slice(0, end)).join('\r\n');
}
