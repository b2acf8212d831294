/**
 * A campaign's block document -> MJML -> responsive HTML, and its plain-text part. Tokens are swapped for inert
 * placeholders before Markdown, sanitizing and MJML touch the text, and written back after in the canonical form
 * merge.ts splits on. CPU work on user input: callers use `compileOffThread` (a pool thread under a time budget).
 */
import type { Block, BlockDocument, LeafBlock } from '#contracts/newsletters';
import { sanitizeEmailHtml } from '../../mail/sanitize.ts';
import { htmlDepth, htmlToText, markdownToHtml, MAX_HTML_DEPTH } from '../outbound/compose.ts';
import { escapeHtml as esc, htmlToken, splitText } from './merge.ts';

export interface CompileInput {
  content: BlockDocument;
  /** Hidden at the top of the body: the line inbox apps show after the subject. */
  preheader: string | null;
}

export interface Compiled {
  html: string;
  text: string;
  /** What MJML or the checks noticed, in words. */
  warnings: string[];
}

type Footer = Extract<Block, { type: 'footer' }>;

const PLACEHOLDER = /xfilotok(\d+)x/g;
/** What a placeholder in an href looks like while the sanitizer runs (it keeps absolute links only). */
const HREF_PLACEHOLDER = /https:\/\/filo-token\.invalid\/(\d+)/g;

/** The tokens met while compiling, each replaced by `xfilotok<N>x` in the text. */
class Tokens {
  readonly raw: string[] = [];

  protect(text: string): string {
    return text.replace(/\{\{[\s\S]*?\}\}/g, (t) => `xfilotok${this.raw.push(t) - 1}x`);
  }

  /** Placeholders back to tokens: canonical (fallback escaped) in HTML, as written in text. */
  restore(text: string, html: boolean): string {
    return text.replace(PLACEHOLDER, (m, n: string) => {
      const raw = this.raw[Number(n)];
      if (raw === undefined) return m;
      if (!html) return raw;
      const [part] = splitText(raw);
      return typeof part === 'object' && 'token' in part ? htmlToken(part.token, part.fallback) : '';
    });
  }
}

/** User HTML (rendered Markdown, a raw block) as email may carry it: the inbox's allowlist, remote images kept. */
function cleanHtml(html: string): string {
  if (htmlDepth(html) > MAX_HTML_DEPTH) throw new Error(`HTML nests more than ${MAX_HTML_DEPTH} levels deep`);
  const withHrefs = html.replace(/(href|src)\s*=\s*(["']?)xfilotok(\d+)x\2/gi, '$1="https://filo-token.invalid/$3"');
  const { html: clean } = sanitizeEmailHtml(withHrefs, { cidUrl: () => null });
  return clean
    .replace(/\sdata-remote-src="/g, ' src="')
    .replace(/\sdata-remote-background="/g, ' background="')
    .replace(HREF_PLACEHOLDER, 'xfilotok$1x');
}

const HEADING_SIZES = { 1: 28, 2: 22, 3: 18 } as const;
const SOCIAL_LABELS: Record<string, string> = {
  facebook: 'Facebook',
  x: 'X',
  linkedin: 'LinkedIn',
  instagram: 'Instagram',
  youtube: 'YouTube',
  github: 'GitHub',
  web: 'Website',
};

function leafMjml(b: LeafBlock, t: Tokens, textColor: string): string {
  switch (b.type) {
    case 'heading': {
      const size = HEADING_SIZES[b.level];
      return `<mj-text align="${b.align}" font-size="${size}px" line-height="1.25" font-weight="700" color="${textColor}"><h${b.level} style="margin:0;font-size:${size}px;line-height:1.25;">${esc(t.protect(b.text))}</h${b.level}></mj-text>`;
    }
    case 'text':
      return `<mj-text align="${b.align}" font-size="16px" line-height="1.6" color="${textColor}">${cleanHtml(markdownToHtml(t.protect(b.markdown)))}</mj-text>`;
    case 'image': {
      const attrs = [`src="${esc(b.src)}"`, `alt="${esc(t.protect(b.alt))}"`, `align="${b.align}"`];
      if (b.href) attrs.push(`href="${esc(t.protect(b.href))}"`);
      if (b.width) attrs.push(`width="${b.width}px"`);
      return `<mj-image ${attrs.join(' ')} />`;
    }
    case 'button':
      return `<mj-button href="${esc(t.protect(b.href))}" background-color="${b.color}" align="${b.align}" font-size="16px" border-radius="6px" inner-padding="12px 24px">${esc(t.protect(b.label))}</mj-button>`;
    case 'divider':
      return `<mj-divider border-color="${b.color}" border-width="1px" />`;
    case 'spacer':
      return `<mj-spacer height="${b.height}px" />`;
    case 'social':
      return `<mj-social mode="horizontal" icon-size="24px" padding="8px">${b.links
        .map(
          (l) =>
            `<mj-social-element name="${l.network}" href="${esc(t.protect(l.url))}" alt="${SOCIAL_LABELS[l.network]}" />`,
        )
        .join('')}</mj-social>`;
    case 'html':
      return `<mj-text color="${textColor}">${cleanHtml(t.protect(b.html))}</mj-text>`;
  }
}

function footerMjml(b: Footer, t: Tokens): string {
  const lines = [
    ...(b.text.trim() ? [esc(t.protect(b.text.trim())).replace(/\n/g, '<br>')] : []),
    esc(t.protect(b.address)).replace(/\n/g, '<br>'),
    `<a href="{{unsubscribe_url}}" style="color:#6b7280;text-decoration:underline;">Unsubscribe</a> &middot; <a href="{{preferences_url}}" style="color:#6b7280;text-decoration:underline;">Manage preferences</a>`,
  ];
  return `<mj-text align="center" font-size="12px" line-height="1.5" color="#6b7280">${lines.join('<br><br>')}</mj-text>`;
}

function documentMjml(input: CompileInput, t: Tokens): string {
  const s = input.content.settings;
  const font = s.font === 'serif' ? 'Georgia, "Times New Roman", serif' : 'Helvetica, Arial, sans-serif';
  const sections = input.content.blocks.map((b) => {
    if (b.type === 'columns')
      return `<mj-section background-color="${s.contentBackground}" padding="8px 16px">${b.columns
        .map((col) => `<mj-column>${col.map((x) => leafMjml(x, t, s.textColor)).join('')}</mj-column>`)
        .join('')}</mj-section>`;
    const inner = b.type === 'footer' ? footerMjml(b, t) : leafMjml(b, t, s.textColor);
    const bg = b.type === 'footer' ? s.background : s.contentBackground;
    return `<mj-section background-color="${bg}" padding="4px 16px"><mj-column>${inner}</mj-column></mj-section>`;
  });
  const preview = input.preheader ? `<mj-preview>${esc(t.protect(input.preheader))}</mj-preview>` : '';
  return `<mjml><mj-head>${preview}<mj-attributes><mj-all font-family='${font}' /><mj-button color="#ffffff" /></mj-attributes><mj-style>a { color: ${s.accent}; } p { margin: 0 0 12px; }</mj-style></mj-head><mj-body background-color="${s.background}" width="600px">${sections.join('')}</mj-body></mjml>`;
}

// ---- The plain-text part

function leafText(b: LeafBlock | Footer, t: Tokens): string {
  switch (b.type) {
    case 'heading':
      return t.protect(b.text);
    case 'text':
      return htmlToText(cleanHtml(markdownToHtml(t.protect(b.markdown))));
    case 'image':
      return b.alt ? t.protect(b.alt) + (b.href ? ` (${t.protect(b.href)})` : '') : '';
    case 'button':
      return `${t.protect(b.label)}: ${t.protect(b.href)}`;
    case 'divider':
      return '----';
    case 'spacer':
      return '';
    case 'social':
      return b.links.map((l) => `${SOCIAL_LABELS[l.network]}: ${t.protect(l.url)}`).join('\n');
    case 'html':
      return htmlToText(cleanHtml(t.protect(b.html)));
    case 'footer':
      return ['--', b.text.trim() && t.protect(b.text.trim()), t.protect(b.address), 'Unsubscribe: {{unsubscribe_url}}']
        .filter(Boolean)
        .join('\n');
  }
}

function documentText(doc: BlockDocument, t: Tokens): string {
  const parts = doc.blocks.flatMap((b) => (b.type === 'columns' ? b.columns.flat() : [b])).map((b) => leafText(b, t));
  return parts
    .filter((p) => p.trim())
    .join('\n\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

// ---- Checks

/** What a campaign needs before it is sent, and what is merely worth a look. */
export function documentWarnings(doc: BlockDocument): string[] {
  const warnings: string[] = [];
  const all = doc.blocks.flatMap((b) => (b.type === 'columns' ? b.columns.flat() : [b]));
  if (!doc.blocks.some((b) => b.type === 'footer'))
    warnings.push(
      'Add a footer block with your postal address: it is required to send, and carries the unsubscribe link.',
    );
  for (const b of all) {
    if (b.type === 'image' && !b.alt.trim()) warnings.push(`An image (${b.src}) has no alternative text.`);
    if (b.type === 'button' && !b.href.trim()) warnings.push(`The button “${b.label}” has no link.`);
  }
  return warnings;
}

/** The document compiled: responsive HTML (tokens in merge.ts's form), the text part, and warnings. */
export async function compileDocument(input: CompileInput): Promise<Compiled> {
  const t = new Tokens();
  const mjml = documentMjml(input, t);
  // Loaded on first use: a second of CPU at start-up that only compile threads need (see compile.worker.ts).
  const { default: mjml2html } = await import('mjml');
  const out = await mjml2html(mjml, { validationLevel: 'soft', keepComments: false });
  const warnings = [...documentWarnings(input.content), ...out.errors.map((e) => e.formattedMessage || e.message)];
  const text = documentText(input.content, t);
  return { html: t.restore(out.html, true), text: t.restore(text, false), warnings };
}

// ---- Tracked links

/**
 * Every http(s) link of the HTML (not one carrying a token: the unsubscribe link, a personal URL) becomes
 * `{{link.N}}`, N given by `indexOf(url)` (the same URL, the same index, across variants).
 */
export function trackLinks(html: string, indexOf: (url: string) => number): string {
  return html.replace(/href="(https?:\/\/[^"]+)"/gi, (m, url: string) =>
    url.includes('{{') ? m : `href="{{link.${indexOf(decodeEntities(url))}}}"`,
  );
}

const decodeEntities = (s: string) =>
  s.replace(/&(amp|quot|#39|lt|gt);/g, (_m, e: string) => ({ amp: '&', quot: '"', '#39': "'", lt: '<', gt: '>' })[e]!);
