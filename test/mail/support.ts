import type { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import type { StoreAttachment } from '../../mail/parse.ts';

/** A complete RFC 5322 message (CRLF line endings) built by nodemailer. */
export function compose(options: Mail.Options): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

export interface StoredPart {
  meta: Parameters<StoreAttachment>[0];
  size: number;
  chunks: number;
  largestChunk: number;
  /** The content, when the store was asked to keep it. */
  bytes: Buffer | null;
}

/** A storeAttachment that reads every part as a stream and records what it got. */
export function recordingStore(opts: { keep?: boolean; onChunk?: (chunk: Buffer) => void } = {}) {
  const parts: StoredPart[] = [];
  const storeAttachment: StoreAttachment = async (meta, content: Readable) => {
    const part: StoredPart = { meta, size: 0, chunks: 0, largestChunk: 0, bytes: null };
    const kept: Buffer[] = [];
    for await (const chunk of content as AsyncIterable<Buffer>) {
      opts.onChunk?.(chunk);
      part.size += chunk.length;
      part.chunks++;
      part.largestChunk = Math.max(part.largestChunk, chunk.length);
      if (opts.keep) kept.push(chunk);
    }
    if (opts.keep) part.bytes = Buffer.concat(kept);
    parts.push(part);
    return { size: part.size, stored: `blob-${parts.length}` };
  };
  return { parts, storeAttachment };
}

const SAFE_TAGS = new Set(
  (
    'a abbr address article aside b bdi bdo big blockquote br caption center cite code col colgroup dd del details dfn ' +
    'div dl dt em figcaption figure font footer h1 h2 h3 h4 h5 h6 header hr i img ins kbd li main mark ol p pre q s ' +
    'samp section small span strike strong sub summary sup table tbody td tfoot th thead time tr tt u ul wbr'
  ).split(' '),
);

function decodeEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);?/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);?/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * What in sanitized HTML could run script, load something remote, or navigate: every `<` must open an allowed tag
 * (text `<` is escaped), no event handler or unexpected attribute, only safe URLs and styles. [] when safe.
 */
export function unsafeParts(html: string): string[] {
  const problems: string[] = [];
  const tag = /<(\/?)([a-zA-Z0-9-]*)((?:\s+[^\s=/>]+(?:="[^"]*")?)*)\s*(\/?)>/y;
  for (let at = html.indexOf('<'); at >= 0; at = html.indexOf('<', at + 1)) {
    tag.lastIndex = at;
    const m = tag.exec(html);
    if (!m) {
      problems.push(`stray < at ${at}: ${html.slice(at, at + 40)}`);
      continue;
    }
    const name = (m[2] as string).toLowerCase();
    if (!SAFE_TAGS.has(name)) problems.push(`tag <${name}>`);
    for (const a of (m[3] as string).matchAll(/\s+([^\s=/>]+)(?:="([^"]*)")?/g)) {
      const attr = (a[1] as string).toLowerCase();
      const value = decodeEntities(a[2] ?? '');
      // eslint-disable-next-line no-control-regex
      const compact = value.replace(/[\s\x00-\x1f]/g, '').toLowerCase();
      if (attr.startsWith('on')) problems.push(`event handler ${attr}`);
      if (['srcdoc', 'srcset', 'formaction', 'action', 'ping', 'xlink:href', 'class', 'id', 'name'].includes(attr)) {
        problems.push(`attribute ${attr}`);
      }
      if (attr === 'href' && !/^(?:https?:\/\/|mailto:|tel:)/.test(compact)) problems.push(`href ${value}`);
      if (attr === 'src' && !/^(?:\/api\/|data:image\/(?:png|gif|jpe?g|webp|bmp);)/.test(compact)) {
        problems.push(`src ${value}`);
      }
      if (attr === 'background' && !compact.startsWith('/api/')) problems.push(`background ${value}`);
      if (attr.startsWith('data-remote-') && !/^https?:\/\//.test(compact)) problems.push(`${attr} ${value}`);
      if (attr === 'style' && /url\(|expression|javascript|behavior|binding|@import|\\|position/.test(compact)) {
        problems.push(`style ${value}`);
      }
    }
  }
  if (/<\s*(?:script|iframe|svg|math|meta|link|base|form|input|style|object|embed|frame)/i.test(html)) {
    problems.push('dangerous tag text');
  }
  return problems;
}
