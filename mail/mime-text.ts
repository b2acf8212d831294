// String helpers and the problem list shared by the header, charset and attachment readers of parse.ts.
import { isUtf8 } from 'node:buffer';

export const MAX_MESSAGE_ID = 998;
export const MAX_FILE_NAME = 255;
const MAX_PROBLEMS = 50;

export class Problems {
  readonly list: string[] = [];
  add(problem: string) {
    const clean = singleLine(problem).slice(0, 300);
    if (this.list.includes(clean)) return;
    if (this.list.length < MAX_PROBLEMS) this.list.push(clean);
  }
}

/** Header lines come from mailsplit as binary strings, one char per byte. */
export function decodeRaw(binary: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(binary)) return binary;
  const bytes = Buffer.from(binary, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : new TextDecoder('windows-1252').decode(bytes);
}

export function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, '').replace(/[\r\n]+/g, ' ');
}

/** Control characters (NUL, CR, LF and the rest of C0, DEL) become spaces: no header injection, no \u0000. */
export function stripControls(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ');
}

export function singleLine(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}

export function stripNul(value: string): string {
  return value.replaceAll('\u0000', '');
}

/** Cuts a string to `max` chars without leaving half a surrogate pair. */
export function cut(value: string, max: number): string {
  if (value.length <= max) return value;
  const end = /[\ud800-\udbff]/.test(value.charAt(max - 1)) ? max - 1 : max;
  return value.slice(0, end);
}
