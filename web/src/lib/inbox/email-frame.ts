/**
 * The document an email's HTML is shown in: a sandboxed `srcdoc` frame (no scripts, an opaque origin) whose own
 * CSP lets nothing load but our images and inline styles, and remote images only once the reader asks for them.
 */

export interface FrameOptions {
  /** The reader asked for the sender's remote images: `data-remote-*` become real sources, `https:` is allowed. */
  remoteImages: boolean;
  /** Our own images of the message (`cid:` parts) by URL, as `data:` URLs; see {@link inlineImages}. */
  images?: Record<string, string> | undefined;
}

export function framePolicy(opts: Pick<FrameOptions, 'remoteImages'>): string {
  const images = ["'self'", 'data:', ...(opts.remoteImages ? ['https:'] : [])];
  return `default-src 'none'; img-src ${images.join(' ')}; style-src 'unsafe-inline'; form-action 'none'`;
}

/** The app's URLs of a message's parts (`cid:` images) that the sanitized HTML points at. */
const OWN_URL = /^\/api\/inbox\/messages\/[^/]+\/cid\//;
const MAX_INLINE_BYTES = 5 * 1024 * 1024;

const BASE_STYLE = `
  html { color-scheme: light; }
  body { margin: 0; padding: 12px 16px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: #1e293b; overflow-wrap: anywhere; }
  img { max-width: 100%; height: auto; }
  table { max-width: 100%; }
  blockquote { margin: 0 0 0 .5em; padding-left: .75em; border-left: 2px solid #cbd5e1; color: #475569; }
  pre { white-space: pre-wrap; }
`;

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** Parses HTML in an inert document: nothing in it runs or loads. */
const parse = (html: string) => new DOMParser().parseFromString(`<!doctype html><body>${html}</body>`, 'text/html');

/** The message's own image URLs (`img src` and `background`) that the HTML uses. */
export function ownImageUrls(html: string): string[] {
  const doc = parse(html);
  const urls = [
    ...[...doc.querySelectorAll('img[src]')].map((el) => el.getAttribute('src') ?? ''),
    ...[...doc.querySelectorAll('[background]')].map((el) => el.getAttribute('background') ?? ''),
  ];
  return [...new Set(urls.filter((u) => OWN_URL.test(u)))];
}

/**
 * The message's own images as `data:` URLs. The frame's opaque origin makes its requests cross-site, so the
 * session cookie (SameSite) would not go with them: the app fetches them and hands the frame their bytes.
 */
export async function inlineImages(urls: string[], signal?: AbortSignal): Promise<Record<string, string>> {
  const entries = await Promise.all(
    urls.map(async (url): Promise<[string, string] | null> => {
      try {
        const res = await fetch(url, { credentials: 'same-origin', signal });
        const type = res.headers.get('content-type') ?? '';
        if (!res.ok || !type.startsWith('image/')) return null;
        const blob = await res.blob();
        if (blob.size > MAX_INLINE_BYTES) return null;
        return [url, await dataUrl(blob)];
      } catch {
        return null;
      }
    }),
  );
  return Object.fromEntries(entries.filter((e) => e !== null));
}

function dataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('unreadable image'));
    reader.readAsDataURL(blob);
  });
}

/**
 * The body of the frame from the server's sanitized HTML, parsed in an inert document. The message's own images
 * take their `data:` URL from `images` (or no source: the frame could not load them anyway); with
 * `remoteImages`, `data-remote-src` / `data-remote-background` are copied to `src` / `background`. Links open
 * outside the frame.
 */
export function emailBody(html: string, opts: FrameOptions): string {
  const doc = parse(html);
  const images = opts.images ?? {};
  for (const [selector, attr] of [
    ['img[src]', 'src'],
    ['[background]', 'background'],
  ] as const) {
    for (const el of doc.querySelectorAll(selector)) {
      const url = el.getAttribute(attr) ?? '';
      if (!OWN_URL.test(url)) continue;
      if (images[url]) el.setAttribute(attr, images[url]);
      else el.removeAttribute(attr);
    }
  }
  if (opts.remoteImages) {
    for (const img of doc.querySelectorAll('img[data-remote-src]')) {
      const src = img.getAttribute('data-remote-src') ?? '';
      if (/^https?:\/\//i.test(src)) img.setAttribute('src', src.replace(/^http:/i, 'https:'));
    }
    for (const el of doc.querySelectorAll('[data-remote-background]')) {
      const src = el.getAttribute('data-remote-background') ?? '';
      if (/^https?:\/\//i.test(src)) el.setAttribute('background', src.replace(/^http:/i, 'https:'));
    }
  }
  for (const a of doc.querySelectorAll('a[href]')) {
    a.setAttribute('target', '_blank');
    a.setAttribute('rel', 'noopener noreferrer nofollow');
  }
  return doc.body.innerHTML;
}

/** The whole `srcdoc`: CSP first, so that it applies before anything in the body is parsed. */
export function emailSrcdoc(html: string, opts: FrameOptions): string {
  return [
    '<!doctype html><html><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeAttr(framePolicy(opts))}">`,
    '<meta name="referrer" content="no-referrer">',
    '<base target="_blank">',
    `<style>${BASE_STYLE}</style></head><body>`,
    emailBody(html, opts),
    '</body></html>',
  ].join('');
}

/**
 * A height for the frame, which cannot be measured from outside without `allow-same-origin`: estimated from the
 * text and the images, within bounds; the reader can resize it.
 */
export function estimateHeight(text: string | null, html: string): number {
  const plain = text ?? html.replace(/<[^>]*>/g, ' ');
  const lines = plain.split('\n').reduce((n, line) => n + Math.max(1, Math.ceil(line.length / 90)), 0);
  const images = (html.match(/<img\b/gi) ?? []).length;
  return Math.round(Math.min(720, Math.max(160, 40 + lines * 21 + images * 120)));
}
