import DOMPurify from 'dompurify';
import { marked } from 'marked';

let hooked = false;

/** Links in notes open in a new tab, without giving that tab a handle on ours. */
function hook() {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.getAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  });
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Markdown to HTML that is safe to insert: marked renders (GFM, line breaks kept), DOMPurify removes scripts,
 * event handlers, `javascript:` URLs and anything else that could run. `@Name` of mentioned people is highlighted.
 */
export function renderMarkdown(source: string, mentionNames: string[] = []): string {
  hook();
  let text = source;
  for (const name of mentionNames) {
    text = text.replace(new RegExp(`@${escapeRegExp(name)}\\b`, 'g'), `<span class="mention">@${name}</span>`);
  }
  const html = marked.parse(text, { async: false, gfm: true, breaks: true });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}

/** A note's Markdown as plain text for one-line places (the wall): the words, without `**` or list markers. */
export function markdownToText(source: string): string {
  const html = renderMarkdown(source);
  const text = new DOMParser().parseFromString(html, 'text/html').body.textContent ?? '';
  return text.replace(/\s+/g, ' ').trim();
}
