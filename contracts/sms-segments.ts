/**
 * SMS length and cost as the network counts it: GSM-7 (7-bit septets, 160 a message, 153 a segment of a
 * concatenated one) unless one character is outside the GSM 03.38 tables, then UCS-2 (UTF-16 units, 70 / 67).
 * Pure: the web composer shows it while typing and the server records it on each message.
 */

/** GSM 03.38 basic table (one septet each; ESC itself is not a character one can type). */
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** GSM 03.38 extension table: ESC + one septet, so two septets each. */
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsCount {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 units (UCS-2) the text takes. */
  units: number;
  /** Messages billed (0 for an empty text). */
  segments: number;
  /** Units one segment holds at this length: 160/70 for a single message, 153/67 once concatenated. */
  perSegment: number;
  /** Units left in the last segment before another one starts. */
  remaining: number;
  /** The characters that forced UCS-2 (distinct, in order of appearance). */
  unicode: string[];
}

/** Whether a character is sent as GSM-7 (basic or extension table). */
export const isGsm7 = (ch: string): boolean => GSM_BASIC.has(ch) || GSM_EXTENSION.has(ch);

/**
 * Fills segments greedily with whole characters: an extension character (2 septets) or a surrogate pair
 * (2 units) is never split across two segments, so it may leave one unit unused at a segment's end.
 */
function segmentsOf(sizes: number[], single: number, multi: number): { segments: number; remaining: number } {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total === 0) return { segments: 0, remaining: single };
  if (total <= single) return { segments: 1, remaining: single - total };
  let segments = 1;
  let used = 0;
  for (const s of sizes) {
    if (used + s > multi) {
      segments++;
      used = 0;
    }
    used += s;
  }
  return { segments, remaining: multi - used };
}

/** Counts a text's SMS encoding, units and segments. */
export function smsCount(text: string): SmsCount {
  const chars = Array.from(text);
  const unicode = [...new Set(chars.filter((c) => !isGsm7(c)))];
  if (!unicode.length) {
    const sizes = chars.map((c) => (GSM_EXTENSION.has(c) ? 2 : 1));
    const units = sizes.reduce((a, b) => a + b, 0);
    const { segments, remaining } = segmentsOf(sizes, 160, 153);
    return { encoding: 'GSM-7', units, segments, perSegment: units > 160 ? 153 : 160, remaining, unicode };
  }
  const sizes = chars.map((c) => c.length);
  const units = sizes.reduce((a, b) => a + b, 0);
  const { segments, remaining } = segmentsOf(sizes, 70, 67);
  return { encoding: 'UCS-2', units, segments, perSegment: units > 70 ? 67 : 70, remaining, unicode };
}
