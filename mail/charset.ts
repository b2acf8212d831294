import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import jschardet from 'jschardet';

/** jschardet's names that WHATWG TextDecoder spells differently. */
const ALIASES: Record<string, string> = {
  cp932: 'shift_jis',
  maccyrillic: 'x-mac-cyrillic',
  'tis-620': 'windows-874',
  ascii: 'utf-8',
};

/** Below this jschardet guesses (short Latin text comes out as MacCyrillic at 0.1). */
const MIN_CONFIDENCE = 0.5;
/** Detection reads at most this much: enough for a verdict, bounded work on a huge part. */
const SAMPLE_BYTES = 64 * 1024;

function decoderFor(charset: string): TextDecoder | null {
  const name = charset.trim().toLowerCase();
  try {
    return new TextDecoder(ALIASES[name] ?? name);
  } catch {
    return null;
  }
}

/** The charset an HTML document declares in `<meta charset>` or `<meta http-equiv content="...; charset=">`. */
export function metaCharset(html: Buffer): string | null {
  const head = html.subarray(0, 4096).toString('latin1');
  for (const tag of head.matchAll(/<meta\b[^>]*>/gi)) {
    const m = /\bcharset\s*=\s*["']?\s*([\w.:-]{1,40})/i.exec(tag[0]);
    if (m) return (m[1] as string).toLowerCase();
  }
  return null;
}

export interface Decoded {
  text: string;
  /** The charset used when it was not the declared one (or UTF-8 when none was declared); null otherwise. */
  via: string | null;
}

/**
 * Text whose declared charset is UTF-8, US-ASCII or absent: UTF-8 when the bytes are UTF-8; else the HTML's own
 * `<meta>` charset; else what a detector finds with confidence; else Windows-1252 (what 8-bit senders mostly mean).
 */
export function decodeUndeclared(bytes: Buffer, opts: { html: boolean; declared: boolean }): Decoded {
  const meta = opts.html ? metaCharset(bytes) : null;
  const metaDecoder = meta && !/^utf-?8$/.test(meta) ? decoderFor(meta) : null;
  // a charset the MIME headers did not give is the document's own to give
  if (metaDecoder && !opts.declared) return { text: metaDecoder.decode(bytes), via: meta };
  if (isUtf8(bytes)) return { text: bytes.toString('utf8'), via: null };
  if (metaDecoder) return { text: metaDecoder.decode(bytes), via: meta };
  const guess = jschardet.detect(bytes.subarray(0, SAMPLE_BYTES).toString('latin1'));
  const detected = guess.encoding && guess.confidence >= MIN_CONFIDENCE ? decoderFor(guess.encoding) : null;
  if (detected && detected.encoding !== 'utf-8') return { text: detected.decode(bytes), via: detected.encoding };
  return { text: new TextDecoder('windows-1252').decode(bytes), via: 'windows-1252' };
}
