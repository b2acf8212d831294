/** A file carried inside a TNEF (`winmail.dat`) container. */
export interface TnefFile {
  fileName: string;
  data: Buffer;
}

const SIGNATURE = 0x223e9f78;
const ATT_ATTACH_REND_DATA = 0x9002;
const ATT_ATTACH_TITLE = 0x8010;
const ATT_ATTACH_DATA = 0x800f;
const ATT_ATTACHMENT = 0x9005;
const PR_ATTACH_LONG_FILENAME = 0x3707;
const MAX_FILES = 100;
const MAX_PROPS = 1000;

/** Whether these bytes start like a TNEF stream. */
export function isTnef(bytes: Buffer): boolean {
  return bytes.length >= 6 && bytes.readUInt32LE(0) === SIGNATURE;
}

/**
 * The attachments of a TNEF stream (MS-OXTNEF): each attAttachRendData starts one, attAttachTitle names it (its
 * long name from the MAPI attAttachment properties wins), attAttachData is its content. Every length is checked
 * against the buffer: a truncated or hostile stream yields the files read so far, never a throw or an overread.
 */
export function readTnef(bytes: Buffer): TnefFile[] {
  if (!isTnef(bytes)) return [];
  const files: { fileName: string; longName: string | null; data: Buffer | null }[] = [];
  let at = 6;
  while (at + 9 <= bytes.length) {
    const id = bytes.readUInt32LE(at + 1) & 0xffff;
    const length = bytes.readUInt32LE(at + 5);
    const start = at + 9;
    if (length > bytes.length - start) break;
    const data = bytes.subarray(start, start + length);
    at = start + length + 2; // and the checksum
    if (id === ATT_ATTACH_REND_DATA) {
      if (files.length >= MAX_FILES) break;
      files.push({ fileName: '', longName: null, data: null });
    }
    const current = files.at(-1);
    if (!current) continue;
    if (id === ATT_ATTACH_TITLE) current.fileName = cString(data, 'latin1');
    else if (id === ATT_ATTACH_DATA) current.data = data;
    else if (id === ATT_ATTACHMENT) current.longName = longFileName(data);
  }
  return files
    .filter((f): f is typeof f & { data: Buffer } => f.data !== null)
    .map((f, i) => ({ fileName: f.longName || f.fileName || `attachment-${i + 1}`, data: f.data }));
}

function cString(data: Buffer, encoding: 'latin1' | 'utf16le'): string {
  const text = data.toString(encoding);
  const end = text.indexOf('\0');
  return (end < 0 ? text : text.slice(0, end)).trim();
}

const FIXED_SIZE: Record<number, number> = {
  0x0001: 4, 0x0002: 4, 0x0003: 4, 0x0004: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8, 0x000a: 4, 0x000b: 4, 0x0014: 8,
  0x0040: 8, 0x0048: 16,
}; // prettier-ignore
const VARIABLE = new Set([0x001e, 0x001f, 0x0102, 0x000d]);

/** PR_ATTACH_LONG_FILENAME from an attAttachment property list; null when absent or unreadable. */
function longFileName(data: Buffer): string | null {
  const need = (n: number) => at + n <= data.length;
  let at = 0;
  if (!need(4)) return null;
  const count = Math.min(data.readUInt32LE(0), MAX_PROPS);
  at = 4;
  for (let p = 0; p < count; p++) {
    if (!need(4)) return null;
    const type = data.readUInt16LE(at);
    const id = data.readUInt16LE(at + 2);
    at += 4;
    if (id >= 0x8000) {
      // a named property: its GUID and then a number or a name
      if (!need(20)) return null;
      const kind = data.readUInt32LE(at + 16);
      at += 20;
      if (kind === 0) at += 4;
      else {
        if (!need(4)) return null;
        const len = data.readUInt32LE(at);
        at += 4 + pad4(len);
      }
    }
    const multi = (type & 0x1000) !== 0;
    const base = type & ~0x1000;
    let values = 1;
    if (multi || VARIABLE.has(base)) {
      if (!need(4)) return null;
      values = data.readUInt32LE(at);
      at += 4;
    }
    if (values > MAX_PROPS) return null;
    for (let v = 0; v < values; v++) {
      if (VARIABLE.has(base)) {
        if (!need(4)) return null;
        const len = data.readUInt32LE(at);
        at += 4;
        if (!need(len)) return null;
        if (id === PR_ATTACH_LONG_FILENAME && (base === 0x001e || base === 0x001f)) {
          return cString(data.subarray(at, at + len), base === 0x001f ? 'utf16le' : 'latin1') || null;
        }
        at += pad4(len);
      } else {
        const size = FIXED_SIZE[base];
        if (size === undefined) return null;
        at += size;
      }
    }
  }
  return null;
}

function pad4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}
