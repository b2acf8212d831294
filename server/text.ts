const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Length as PostgreSQL's varchar(n) counts it: code points, not UTF-16 units. */
export const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
};

/**
 * Fits user-derived text into a varchar(max) column: whole graphemes only (no split surrogate pair, no base
 * letter torn from its combining marks), with an ellipsis when something was cut.
 */
export function truncateGraphemes(s: string, max: number, ellipsis = '…'): string {
  if (codePoints(s) <= max) return s;
  const room = max - codePoints(ellipsis);
  let used = 0;
  let out = '';
  for (const { segment } of graphemes.segment(s)) {
    const size = codePoints(segment);
    if (used + size > room) break;
    used += size;
    out += segment;
  }
  return out + ellipsis;
}

/** A file name cut to fit varchar(max) keeps its extension: `very long….pdf`. */
export function truncateFileName(name: string, max: number): string {
  if (codePoints(name) <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  return truncateGraphemes(name.slice(0, name.length - ext.length), max - codePoints(ext)) + ext;
}

// Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the LRM/RLM marks.
const BIDI_CONTROLS = /[\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** A file name with its bidi controls made visible: `invoice\u202Efdp.exe` must not read "invoiceexe.pdf". */
export const visibleBidi = (s: string): string =>
  s.replace(BIDI_CONTROLS, (c) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
