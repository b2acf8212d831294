// Top-level header fields of a message read into ParsedMail's fields: subject, addresses, message ids, date.
import { isUtf8 } from 'node:buffer';
import { parseAddressHeader, type EmailAddress, type HeaderLines, type MailParser } from 'mailparser';
import { decodeUndeclared } from './charset.ts';
import { MAX_MESSAGE_ID, cut, decodeRaw, singleLine, stripControls, unfold, type Problems } from './mime-text.ts';
import type { ParsedAddress } from './parsed-mail.ts';

const MAX_SUBJECT = 998;
const MAX_ADDRESS = 320;
const MAX_NAME = 320;
const MAX_ADDRESSES = 1000;
const MAX_REFERENCES = 100;
const MAX_HEADER_VALUE = 8192;

/** The top-level header block as name -> values, unfolded; 8-bit bytes read as UTF-8, or Windows-1252 when not. */
export function readHeaders(lines: HeaderLines): Map<string, string[]> {
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

export function first(headers: Map<string, string[]>, key: string): string | undefined {
  return headers.get(key)?.[0];
}

export function subjectOf(parser: MailParser, lines: HeaderLines, problems: Problems): string {
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

export function addresses(values: string[] | undefined, field: string, problems: Problems): ParsedAddress[] {
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

export function firstMessageId(value: string | undefined): string | null {
  return value === undefined ? null : (messageIds(value)[0] ?? null);
}

/** The root and the most recent ids are the ones threading needs: keep the first and the last 99. */
export function references(values: string[]): string[] {
  const ids = [...new Set(values.flatMap(messageIds))];
  return ids.length <= MAX_REFERENCES ? ids : [ids[0] as string, ...ids.slice(ids.length - (MAX_REFERENCES - 1))];
}

export function dateOf(value: string | undefined, problems: Problems): Date | null {
  if (value === undefined) return null;
  const date = new Date(value.replace(/\s*\([^)]*\)\s*$/, ''));
  if (Number.isNaN(date.getTime())) {
    problems.add('date: unreadable');
    return null;
  }
  return date;
}
