/**
 * Personalization tokens of templates and signatures: `{{contact.first_name}}`, with an optional fallback
 * `{{contact.first_name | "there"}}` used when the value is empty. Parsed once; anything between `{{` and `}}`
 * that is not a known token, and any unbalanced braces, is an error with its position.
 */
import { TEMPLATE_TOKENS } from '#contracts/outbound';

export const TOKENS = TEMPLATE_TOKENS;
export type TokenName = (typeof TOKENS)[number];
export type TokenValues = Partial<Record<TokenName, string | null | undefined>>;

export interface TokenPosition {
  /** 0-based index in the text. */
  offset: number;
  /** 1-based. */
  line: number;
  /** 1-based, in characters of that line. */
  column: number;
}

export class TokenError extends Error {
  readonly reason: 'unknown' | 'malformed';
  readonly token: string;
  readonly position: TokenPosition;

  constructor(reason: 'unknown' | 'malformed', token: string, position: TokenPosition, message: string) {
    super(message);
    this.reason = reason;
    this.token = token;
    this.position = position;
  }
}

type Part = string | { name: TokenName; fallback: string | null };

const KNOWN = new Set<string>(TOKENS);
const TOKEN = /^\s*([a-z_]+(?:\.[a-z_]+)*)\s*(?:\|\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|'([^'\\]*(?:\\.[^'\\]*)*)')\s*)?$/;

export function positionOf(text: string, offset: number): TokenPosition {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { offset, line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** The text split into literal runs and tokens; throws a TokenError at the first problem. `known`: other token sets (campaigns'). */
export function parseTokens(text: string, known: ReadonlySet<string> = KNOWN): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    const strayClose = text.indexOf('}}', i);
    if (strayClose !== -1 && (open === -1 || strayClose < open)) {
      throw new TokenError('malformed', '}}', positionOf(text, strayClose), '“}}” without a matching “{{”');
    }
    if (open === -1) {
      parts.push(text.slice(i));
      break;
    }
    if (open > i) parts.push(text.slice(i, open));
    const close = text.indexOf('}}', open + 2);
    const nextOpen = text.indexOf('{{', open + 2);
    if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
      throw new TokenError(
        'malformed',
        text.slice(open, open + 40),
        positionOf(text, open),
        '“{{” is never closed by “}}”',
      );
    }
    const inner = text.slice(open + 2, close);
    const raw = text.slice(open, close + 2);
    const m = TOKEN.exec(inner);
    if (!m) throw new TokenError('malformed', raw, positionOf(text, open), `“${raw}” is not a token`);
    const name = m[1]!;
    if (!known.has(name)) throw new TokenError('unknown', raw, positionOf(text, open), `Unknown token “${raw}”`);
    const fallback = m[2] !== undefined ? unescape(m[2]) : m[3] !== undefined ? unescape(m[3]) : null;
    parts.push({ name: name as TokenName, fallback });
    i = close + 2;
  }
  return parts;
}

/** Renders text with tokens; an empty value takes the token's fallback, else stays empty. */
export function renderTokens(text: string, values: TokenValues): string {
  return parseTokens(text)
    .map((part) => {
      if (typeof part === 'string') return part;
      const value = values[part.name]?.trim();
      return value ? value : (part.fallback ?? '');
    })
    .join('');
}
