// Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the LRM/RLM marks.
const BIDI_CONTROLS = /[\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/**
 * A file name with its bidi controls made visible (as the server names the download): `invoice\u202Efdp.exe`
 * must not read "invoiceexe.pdf".
 */
export const visibleBidi = (s: string): string =>
  s.replace(BIDI_CONTROLS, (c) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);

/** The text without its bidi controls (for an initial, a sort key). */
export const withoutBidi = (s: string): string => s.replace(BIDI_CONTROLS, '');
