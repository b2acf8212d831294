import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

const INLINE_SCRIPT = /<script(?![^>]*\bsrc\s*=)[^>]*>([\s\S]*?)<\/script>/gi;

/** The sha256 source of each inline script of a page (SvelteKit's bootstrap), as CSP wants them. */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(INLINE_SCRIPT)].map(
    ([, body]) =>
      `'sha256-${createHash('sha256')
        .update(body ?? '', 'utf8')
        .digest('base64')}'`,
  );
}

/**
 * The app's Content-Security-Policy: scripts only from our origin and the page's own inline bootstrap (by hash,
 * so no injected script or inline handler runs), plus the Jitsi deployment's library for calls. Styles may be
 * inline (Svelte's transitions write them); images may be remote (a reader can load a mail's remote images).
 */
export function appContentSecurityPolicy(html: string, opts: { jitsiBaseUrl: string }): string {
  const jitsi = new URL(opts.jitsiBaseUrl);
  const jitsiWs = `${jitsi.protocol === 'https:' ? 'wss:' : 'ws:'}//${jitsi.host}`;
  return [
    "default-src 'self'",
    `script-src 'self' ${[...inlineScriptHashes(html), jitsi.origin].join(' ')}`,
    "script-src-attr 'none'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https:",
    "media-src 'self' blob:",
    "font-src 'self' data:",
    `connect-src 'self' ${jitsi.origin} ${jitsiWs}`,
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
  ].join('; ');
}

/**
 * The app's index.html and its policy, read again whenever the file changes (a rebuild while Filo runs gives
 * the bootstrap script a new hash): the page sent is always the one the policy was computed from.
 */
export function spaPage(file: string, opts: { jitsiBaseUrl: string }): () => { html: string; csp: string } {
  let cached: { mtimeMs: number; size: number; html: string; csp: string } | undefined;
  return () => {
    const { mtimeMs, size } = statSync(file);
    if (cached?.mtimeMs !== mtimeMs || cached.size !== size) {
      const html = readFileSync(file, 'utf8');
      cached = { mtimeMs, size, html, csp: appContentSecurityPolicy(html, opts) };
    }
    return cached;
  };
}
