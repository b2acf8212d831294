// Hooks into mailparser's charset handling: parts without a trustworthy charset decoded by us, unknown ones recorded.
import { Transform, type TransformCallback } from 'node:stream';
import type { HeaderLines, MailParser } from 'mailparser';
import { decodeUndeclared } from './charset.ts';
import { singleLine, type Problems } from './mime-text.ts';

/** The charset mailparser is given for a text part that declared none, UTF-8 or ASCII: ours to decode. */
const UNDECLARED = 'x-filo-undeclared';

interface ParserInternals {
  createNode(node: unknown): { contentType?: string; charset?: string; isAttachment?: boolean } | undefined;
  decoder: { decodeStream(charset: string): Transform };
}

/**
 * Text parts that declared UTF-8, US-ASCII or nothing are decoded by us (mailparser reads them as UTF-8, replacing
 * every other byte): Windows-1252 labelled UTF-8, raw 8-bit mail, HTML whose charset is only in its `<meta>`.
 */
export function decodeUndeclaredText(parser: MailParser, problems: Problems) {
  // mailparser's node factory and decoder are undocumented fields; used only when present
  const internals = parser as unknown as Partial<ParserInternals>;
  const createNode = internals.createNode?.bind(parser);
  const original = internals.decoder;
  if (!createNode || !original) return;
  internals.createNode = (raw) => {
    const node = createNode(raw);
    const type = node?.contentType;
    const charset = (node?.charset ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '');
    if (node && !node.isAttachment && (type === 'text/plain' || type === 'text/html')) {
      if (!charset || charset === 'utf8' || charset === 'ascii' || charset === 'usascii') {
        node.charset = `${UNDECLARED}-${type === 'text/html' ? 'html' : 'text'}-${charset ? 'declared' : 'none'}`;
      }
    }
    return node;
  };
  internals.decoder = {
    decodeStream(charset: string) {
      if (!charset.startsWith(UNDECLARED)) return original.decodeStream(charset);
      const html = charset.includes('-html-');
      const declared = charset.endsWith('-declared');
      return new Collect((bytes) => {
        const { text, via } = decodeUndeclared(bytes, { html, declared });
        if (via)
          problems.add(`${html ? 'html' : 'text'}: ${declared ? 'not UTF-8' : 'no charset declared'}, read as ${via}`);
        return Buffer.from(text, 'utf8');
      });
    },
  };
}

/** Collects a whole part and passes on what `finish` makes of it. */
class Collect extends Transform {
  readonly #chunks: Buffer[] = [];
  readonly #finish: (bytes: Buffer) => Buffer;
  constructor(finish: (bytes: Buffer) => Buffer) {
    super();
    this.#finish = finish;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.#chunks.push(chunk);
    done();
  }
  override _flush(done: TransformCallback) {
    done(null, this.#finish(Buffer.concat(this.#chunks)));
  }
}

const WHATWG_LESS = /^(?:cp|ibm)-?\d+$|^utf-?32|^jis|^iso-?2022-?jp|^eucjp/i;
const charsetKnown = new Map<string, boolean>();

/** Whether libmime (mailparser's decoder) knows a charset; an unknown one is silently read as UTF-8. */
function knownCharset(name: string): boolean {
  const key = name.split('*')[0]?.trim().toLowerCase() ?? '';
  let known = charsetKnown.get(key);
  if (known === undefined) {
    if (/^(?:(?:cs)?unicode11)?utf-?7(?:-?imap)?$/.test(key)) known = false;
    else if (/^(?:us-?ascii|ascii|7bit|8bit|binary|utf-?8)$/.test(key) || WHATWG_LESS.test(key)) known = true;
    else {
      try {
        new TextDecoder(key);
        known = true;
      } catch {
        known = false;
      }
    }
    if (charsetKnown.size < 1000) charsetKnown.set(key, known);
  }
  return known;
}

interface TreeNode {
  charset?: unknown;
  children?: TreeNode[];
}

/** Records unknown charsets in encoded words and in text parts (mailparser decodes those as UTF-8 without a word). */
export function checkCharsets(parser: MailParser, lines: HeaderLines, problems: Problems) {
  for (const { line } of lines) {
    for (const m of line.matchAll(/=\?([^?\s]{1,64})\?[QqBb]\?/g)) {
      if (!knownCharset(m[1] as string)) problems.add(`unknown charset ${m[1]} in header`);
    }
  }
  // mailparser keeps its MIME tree on an undocumented field; read it defensively
  const root = (parser as unknown as { tree?: TreeNode }).tree;
  const stack: TreeNode[] = root && typeof root === 'object' ? [root] : [];
  let visited = 0;
  while (stack.length && visited++ < 10_000) {
    const node = stack.pop() as TreeNode;
    if (typeof node.charset === 'string' && !node.charset.startsWith(UNDECLARED) && !knownCharset(node.charset)) {
      problems.add(`unknown charset ${singleLine(node.charset).slice(0, 64)}`);
    }
    if (Array.isArray(node.children)) stack.push(...node.children);
  }
}
