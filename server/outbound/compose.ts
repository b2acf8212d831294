import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { sanitizeEmailHtml } from '../../mail-gateway/pipeline/sanitize.ts';

export type BodyFormat = 'markdown' | 'html';

export interface ComposedBody {
  /** Sanitized, as Filo shows it (remote images wait in `data-remote-src`, like received mail). */
  html: string;
  /** The same, as it is sent: the writer's own remote images load for the customer. */
  sendHtml: string;
  /** The text/plain alternative. */
  text: string;
}

const marked = new Marked({ gfm: true, breaks: true, async: false });

export const markdownToHtml = (markdown: string): string => marked.parse(markdown, { async: false });

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", apos: "'", nbsp: ' ' };

/** A readable plain-text form of (sanitized) HTML: block ends become line breaks, links keep their address. */
export function htmlToText(html: string): string {
  const marked = html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<li[^>]*>/gi, '\n- ')
    .replace(/<\/(p|div|h[1-6]|ul|ol|blockquote|pre|table|tr)>/gi, '\n\n')
    .replace(/<a\s[^>]*href="([^"]+)"[^>]*>([\s\S]*?)<\/a>/gi, (_m, href: string, label: string) =>
      label.replace(/<[^>]+>/g, '').trim() === href ? href : `${label} (${href})`,
    );
  const text = sanitizeHtml(marked, { allowedTags: [], allowedAttributes: {} }).replace(
    /&(amp|lt|gt|quot|#39|apos|nbsp);/g,
    (_m, e: string) => ENTITIES[e] ?? '',
  );
  return text
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * The body of an outgoing message from what the agent wrote (Markdown rendered first), with the signature after
 * the conventional `-- ` separator: sanitized with the same allowlist as received mail, plus its text alternative.
 */
export function composeBody(body: string, format: BodyFormat, signature: string | null): ComposedBody {
  const main = format === 'markdown' ? markdownToHtml(body) : body;
  const sig = signature?.trim() ? `<div class="filo-signature"><p>-- </p>${markdownToHtml(signature)}</div>` : '';
  const { html } = sanitizeEmailHtml(`${main}${sig}`, { cidUrl: () => null });
  const sendHtml = html
    .replace(/\sdata-remote-src="/g, ' src="')
    .replace(/\sdata-remote-background="/g, ' background="');
  const mainText =
    format === 'markdown' ? body.trim() : htmlToText(sanitizeEmailHtml(main, { cidUrl: () => null }).html);
  const text = mainText + (signature?.trim() ? `\n\n-- \n${signature.trim()}` : '');
  return { html, sendHtml, text };
}
