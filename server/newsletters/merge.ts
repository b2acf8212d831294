/**
 * Merge tokens of campaigns, per recipient: the compiled HTML, text and subject are split once into literal runs,
 * tokens and tracked-link slots (`{{link.N}}`), then each recipient's copy is a join of those parts with their values
 * (HTML-escaped in the HTML). The token grammar and the positions of errors are the templates' (outbound/tokens.ts).
 */
import { CAMPAIGN_TOKENS } from '#contracts/campaigns';
import type { BlockDocument, LeafBlock } from '#contracts/newsletters';
import { TEMPLATE_TOKENS } from '#contracts/outbound';
import { HttpError } from '../http/errors.ts';
import { parseTokens, TokenError } from '../outbound/tokens.ts';

/** Every token a campaign may carry: the templates' and the campaign's own links. */
export const CAMPAIGN_TOKEN_NAMES: ReadonlySet<string> = new Set<string>([...TEMPLATE_TOKENS, ...CAMPAIGN_TOKENS]);
export type MergeValues = Partial<Record<string, string | null | undefined>>;

export type Piece = string | { token: string; fallback: string | null } | { link: number };

/** Splits plain text (a subject, the text part) with the templates' parser and the campaign's tokens. */
export function splitText(text: string): Piece[] {
  return parseTokens(text, CAMPAIGN_TOKEN_NAMES).map((p) =>
    typeof p === 'string' ? p : { token: p.name, fallback: p.fallback },
  );
}

/**
 * Compiled HTML carries tokens in one canonical form written by compile.ts: `{{name}}` or `{{name | "fallback"}}`
 * (the fallback already HTML-escaped, so with no `"`), and `{{link.N}}` where a tracked link goes.
 */
const HTML_TOKEN = /\{\{(?:link\.(\d+)|([a-z_]+(?:\.[a-z_]+)*)(?: \| "([^"]*)")?)\}\}/g;

export function splitHtml(html: string): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  for (const m of html.matchAll(HTML_TOKEN)) {
    if (m.index > at) pieces.push(html.slice(at, m.index));
    if (m[1] !== undefined) pieces.push({ link: Number(m[1]) });
    else if (CAMPAIGN_TOKEN_NAMES.has(m[2]!)) pieces.push({ token: m[2]!, fallback: m[3] ?? null });
    else pieces.push(m[0]);
    at = m.index + m[0].length;
  }
  if (at < html.length) pieces.push(html.slice(at));
  return pieces;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/**
 * One recipient's copy: tokens take their value (else the fallback, else nothing), `{{link.N}}` takes `link(N)`.
 * In HTML (`html: true`) values are escaped and fallbacks are used as compiled (already escaped).
 */
export function mergePieces(
  pieces: readonly Piece[],
  values: MergeValues,
  opts: { html: boolean; link?: (index: number) => string },
): string {
  let out = '';
  for (const p of pieces) {
    if (typeof p === 'string') out += p;
    else if ('link' in p) out += opts.link ? (opts.html ? escapeHtml(opts.link(p.link)) : opts.link(p.link)) : '';
    else {
      const value = values[p.token]?.trim();
      out += value ? (opts.html ? escapeHtml(value) : value) : (p.fallback ?? '');
    }
  }
  return out;
}

/** The token written into compiled HTML for a parsed one (see HTML_TOKEN). */
export function htmlToken(name: string, fallback: string | null): string {
  return fallback === null ? `{{${name}}}` : `{{${name} | "${escapeHtml(fallback)}"}}`;
}

// ---- Checked on save

/** The texts of a block document that may carry tokens, with the field path each is reported under. */
export function* tokenFields(doc: BlockDocument, prefix: string): Generator<[string, string]> {
  const leaf = function* (
    b: LeafBlock | Extract<BlockDocument['blocks'][number], { type: 'footer' }>,
    at: string,
  ): Generator<[string, string]> {
    switch (b.type) {
      case 'heading':
        yield [`${at}.text`, b.text];
        break;
      case 'text':
        yield [`${at}.markdown`, b.markdown];
        break;
      case 'image':
        yield [`${at}.alt`, b.alt];
        if (b.href) yield [`${at}.href`, b.href];
        break;
      case 'button':
        yield [`${at}.label`, b.label];
        yield [`${at}.href`, b.href];
        break;
      case 'social':
        for (const [i, l] of b.links.entries()) yield [`${at}.links.${i}.url`, l.url];
        break;
      case 'html':
        yield [`${at}.html`, b.html];
        break;
      case 'footer':
        yield [`${at}.text`, b.text];
        yield [`${at}.address`, b.address];
        break;
      default:
        break;
    }
  };
  for (const [i, b] of doc.blocks.entries()) {
    const at = `${prefix}.blocks.${i}`;
    if (b.type === 'columns') {
      for (const [c, column] of b.columns.entries())
        for (const [j, inner] of column.entries()) yield* leaf(inner, `${at}.columns.${c}.${j}`);
    } else yield* leaf(b, at);
  }
}

/** A refused token: 400 `unknown_token` naming the field, with `position` {field, line, column, offset, token}. */
export function tokenError(field: string, err: TokenError): HttpError {
  const where = `line ${err.position.line}, column ${err.position.column}`;
  return new HttpError(
    400,
    'unknown_token',
    `${err.message} in ${field} at ${where}`,
    { [field]: `${err.message} at ${where}` },
    { position: { field, ...err.position, token: err.token, reason: err.reason } },
  );
}

/** Throws the first token problem of these fields as a 400. */
export function checkTokens(fields: Iterable<[string, string | null | undefined]>): void {
  for (const [field, text] of fields) {
    if (!text) continue;
    try {
      parseTokens(text, CAMPAIGN_TOKEN_NAMES);
    } catch (err) {
      if (err instanceof TokenError) throw tokenError(field, err);
      throw err;
    }
  }
}
