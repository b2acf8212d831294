import sanitizeHtml from 'sanitize-html';

export interface SanitizeOptions {
  /** URL the app serves an inline part at, by its Content-ID; null drops the image. */
  cidUrl(cid: string): string | null;
}

/**
 * Email HTML made safe to show: an allowlist of layout and text tags, inline styles limited to safe properties with no
 * url()/expression(), links that open in a new tab without referrer. Remote images never load: their URL moves to
 * `data-remote-src` (or `data-remote-background`) for the reader to opt into; `cid:` images point at `opts.cidUrl`.
 */
export function sanitizeEmailHtml(
  html: string,
  opts: SanitizeOptions,
): { html: string; hasRemoteImages: boolean; lostText: boolean } {
  let hasRemoteImages = false;
  html = openUnclosed(html);

  const transform = (tagName: string, attribs: sanitizeHtml.Attributes): sanitizeHtml.Tag => {
    const out: sanitizeHtml.Attributes = {};
    for (const [name, value] of Object.entries(attribs)) {
      const key = name.toLowerCase();
      // ours to set, never the sender's; URL attributes are handled below
      if (key.startsWith('data-') || key === 'src' || key === 'href' || key === 'background') continue;
      if (key === 'target' || key === 'rel') continue;
      out[key] = value;
    }
    if (tagName === 'img') {
      const src = imageSource(attribs.src ?? '', opts);
      if (src.remote) {
        out['data-remote-src'] = src.remote;
        hasRemoteImages = true;
      } else if (src.url) {
        out.src = src.url;
      }
    }
    if (tagName === 'a') {
      const href = linkTarget(attribs.href ?? '');
      if (href) out.href = href;
      out.target = '_blank';
      out.rel = 'noopener noreferrer nofollow';
    }
    if (attribs.background) {
      const bg = imageSource(attribs.background, opts);
      if (bg.remote) {
        out['data-remote-background'] = bg.remote;
        hasRemoteImages = true;
      } else if (bg.url && !bg.url.startsWith('data:')) {
        out.background = bg.url;
      }
    }
    if (attribs.style) {
      // background images in styles are dropped with the declaration (no url() survives); keep the address
      const remote = /url\(\s*['"]?\s*((?:https?:)?\/\/[^'")\s]+)/i.exec(attribs.style)?.[1];
      if (remote && !out['data-remote-background']) {
        out['data-remote-background'] = remote.startsWith('//') ? `https:${remote}` : remote;
        hasRemoteImages = true;
      }
    }
    return { tagName, attribs: out };
  };

  const clean = sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: ALLOWED_ATTRIBUTES,
    allowedStyles: { '*': ALLOWED_STYLES },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    allowedSchemesByTag: { img: ['http', 'https', 'data'] },
    allowedSchemesAppliedToAttributes: ['href', 'src', 'background', 'cite'],
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    nonTextTags: NON_TEXT_TAGS,
    transformTags: { '*': transform },
    // an image left with no source (a cid: that resolved to nothing, a relative or script URL) is dropped
    exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src && !frame.attribs['data-remote-src'],
  });
  return { html: clean, hasRemoteImages, lostText: lostMostText(html, clean) };
}

/** Containers whose content is dropped: left open, they would swallow the rest of the message. */
const SWALLOWING = ['svg', 'math', 'noscript', 'textarea', 'xmp', 'noembed', 'noframes', 'template', 'iframe', 'object', 'applet', 'button', 'title', 'select']; // prettier-ignore
const CONTAINER_TAG = new RegExp(`<(/?)(${SWALLOWING.join('|')})(?=[\\s/>])[^<>]*>?`, 'gi');

/** Removes the opening tag of every such container that is never closed, so that what follows stays text. */
function openUnclosed(html: string): string {
  const open = new Map<string, { start: number; end: number }[]>();
  for (const m of html.matchAll(CONTAINER_TAG)) {
    const name = (m[2] as string).toLowerCase();
    const stack = open.get(name) ?? [];
    if (m[1]) stack.pop();
    else stack.push({ start: m.index, end: m.index + m[0].length });
    open.set(name, stack);
  }
  const unclosed = [...open.values()].flat().sort((a, b) => a.start - b.start);
  if (!unclosed.length) return html;
  // one pass over the kept pieces: thousands of unclosed tags must not copy the message thousands of times
  const kept: string[] = [];
  let at = 0;
  for (const tag of unclosed) {
    kept.push(html.slice(at, tag.start));
    at = tag.end;
  }
  kept.push(html.slice(at));
  return kept.join('');
}

const TEXT_ONLY: sanitizeHtml.IOptions = {
  allowedTags: [],
  allowedAttributes: {},
  nonTextTags: ['script', 'style', 'title', 'head', 'xml', 'template'],
};
/** Characters of text, whitespace and entities aside. */
const textLength = (text: string) => text.replace(/&[#\w]+;/g, '').replace(/\s+/g, '').length;

/** Whether cleaning dropped most of the readable text (more than half of at least 200 characters). */
function lostMostText(before: string, after: string): boolean {
  // the cleaned HTML has no raw `<` in text: its tags strip with a pattern
  const kept = textLength(after.replace(/<[^<>]*>/g, ''));
  // the rough count of the original (with its CSS and scripts) settles most messages without another parse
  const rough = textLength(before.replace(/<[^<>]*>/g, ''));
  if (rough < 200 || kept >= rough / 2) return false;
  const had = textLength(sanitizeHtml(before, TEXT_ONLY));
  return had >= 200 && kept < had / 2;
}

const ALLOWED_TAGS = [
  'a', 'abbr', 'address', 'article', 'aside', 'b', 'bdi', 'bdo', 'big', 'blockquote', 'br', 'caption', 'center',
  'cite', 'code', 'col', 'colgroup', 'dd', 'del', 'details', 'dfn', 'div', 'dl', 'dt', 'em', 'figcaption', 'figure',
  'font', 'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'main', 'mark',
  'ol', 'p', 'pre', 'q', 's', 'samp', 'section', 'small', 'span', 'strike', 'strong', 'sub', 'summary', 'sup', 'table',
  'tbody', 'td', 'tfoot', 'th', 'thead', 'time', 'tr', 'tt', 'u', 'ul', 'wbr',
]; // prettier-ignore

/** Disallowed tags whose content goes too: code, CSS, document metadata, embedded documents, form controls. */
const NON_TEXT_TAGS = [
  'script', 'style', 'textarea', 'option', 'select', 'xmp', 'noscript', 'title', 'xml', 'iframe', 'frame', 'frameset',
  'noembed', 'noframes', 'template', 'svg', 'math', 'object', 'applet', 'button',
]; // prettier-ignore

const LAYOUT = ['align', 'valign', 'width', 'height', 'bgcolor', 'background'];

const ALLOWED_ATTRIBUTES: Record<string, string[]> = {
  '*': ['style', 'title', 'dir', 'lang', 'data-remote-background'],
  a: ['href', 'target', 'rel'],
  img: ['src', 'alt', 'width', 'height', 'border', 'align', 'hspace', 'vspace', 'data-remote-src'],
  table: [...LAYOUT, 'border', 'cellpadding', 'cellspacing', 'summary'],
  td: [...LAYOUT, 'colspan', 'rowspan', 'nowrap', 'scope'],
  th: [...LAYOUT, 'colspan', 'rowspan', 'nowrap', 'scope'],
  tr: LAYOUT,
  tbody: LAYOUT,
  thead: LAYOUT,
  tfoot: LAYOUT,
  div: LAYOUT,
  p: ['align'],
  center: LAYOUT,
  h1: ['align'],
  h2: ['align'],
  h3: ['align'],
  h4: ['align'],
  h5: ['align'],
  h6: ['align'],
  hr: ['align', 'width', 'size', 'color', 'noshade'],
  font: ['color', 'face', 'size'],
  col: ['span', 'width', 'align', 'valign'],
  colgroup: ['span', 'width', 'align', 'valign'],
  ol: ['start', 'type', 'reversed'],
  ul: ['type'],
  li: ['value', 'type'],
  time: ['datetime'],
  details: ['open'],
};

/**
 * Values of allowed CSS properties: words, numbers, units, colours, quoted font names, and rgb()/hsl() only. No other
 * function (url, expression, image-set, var...), no backslash escapes, no colon (javascript:), no comments.
 */
const SAFE_VALUE = /^(?:[-#%.,\w\s'"/!+]|(?:rgba?|hsla?)\([\d\s.,%/+-]*\))*$/i;

const STYLE_PROPERTIES = [
  'color', 'background-color', 'font', 'font-family', 'font-size', 'font-style', 'font-weight', 'font-variant',
  'text-align', 'text-decoration', 'text-decoration-color', 'text-decoration-line', 'text-transform', 'text-indent',
  'line-height', 'letter-spacing', 'word-spacing', 'white-space', 'word-break', 'word-wrap', 'overflow-wrap',
  'vertical-align', 'direction', 'margin', 'margin-top', 'margin-right', 'margin-bottom', 'margin-left', 'padding',
  'padding-top', 'padding-right', 'padding-bottom', 'padding-left', 'border', 'border-top', 'border-right',
  'border-bottom', 'border-left', 'border-color', 'border-style', 'border-width', 'border-radius', 'border-collapse',
  'border-spacing', 'border-top-color', 'border-right-color', 'border-bottom-color', 'border-left-color',
  'border-top-style', 'border-right-style', 'border-bottom-style', 'border-left-style', 'border-top-width',
  'border-right-width', 'border-bottom-width', 'border-left-width', 'width', 'height', 'max-width', 'min-width',
  'max-height', 'min-height', 'display', 'float', 'clear', 'list-style-type', 'list-style-position', 'table-layout',
  'caption-side', 'empty-cells', 'overflow', 'visibility', 'opacity',
]; // prettier-ignore

const ALLOWED_STYLES: Record<string, RegExp[]> = Object.fromEntries(STYLE_PROPERTIES.map((p) => [p, [SAFE_VALUE]]));

/** Strips what browsers ignore in a URL (outer controls and spaces, tabs and newlines anywhere): `java\tscript:`. */
function normalizeUrl(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '').replace(/[\t\n\r]/g, '');
}

function imageSource(raw: string, opts: SanitizeOptions): { url?: string; remote?: string } {
  const url = normalizeUrl(raw);
  if (/^cid:/i.test(url)) {
    const target = opts.cidUrl(decodeURIComponentSafe(url.slice(4)).replace(/^<|>$/g, ''));
    return target ? { url: target } : {};
  }
  if (/^https?:\/\//i.test(url)) return { remote: url };
  if (url.startsWith('//')) return { remote: `https:${url}` };
  if (/^data:image\/(?:png|gif|jpe?g|webp|bmp);base64,[a-z0-9+/=\s]*$/i.test(url)) return { url };
  // relative URLs would be fetched from our own origin, anything else is a script or a tracker in disguise
  return {};
}

function linkTarget(raw: string): string | null {
  const url = normalizeUrl(raw);
  if (/^(?:https?:\/\/|mailto:|tel:)/i.test(url)) return url;
  return null;
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
