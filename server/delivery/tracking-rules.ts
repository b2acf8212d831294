import type { EntityManager } from '@mikro-orm/postgresql';
import { SendingDomainSchema } from '../../db/entities/sending-domain.entity.ts';

/**
 * What every tracked mail (a shared-inbox reply, a newsletter, a sequence step) shares: which loads are machines,
 * the pixel, and when a tracked link may redirect at once or must show its address first.
 */

/** Loads within this long of the message being sent are prefetches (Apple's, a gateway's), not a person. */
export const MACHINE_WINDOW_MS = 10_000;

/**
 * Image proxies of webmail: they fetch the pixel when the person opens the mail (and sometimes on delivery), so
 * a load through them is human unless it comes within the machine window after sending:
 * - Gmail: `… (via ggpht.com GoogleImageProxy)`;
 * - Yahoo Mail: `YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html`.
 */
const IMAGE_PROXIES = [/GoogleImageProxy/i, /ggpht\.com/i, /YahooMailProxy/i];

/**
 * User agents that load images or follow links for someone, never as them, whenever they come:
 * - Apple Mail Privacy Protection prefetches all remote content on delivery through Apple's relays with a bare
 *   `Mozilla/5.0` (Apple Mail itself sends a full WebKit string);
 * - link scanners and previewers of mail gateways (Microsoft's BingPreview, Barracuda, Mimecast, Proofpoint);
 * - nothing at all.
 */
const MACHINE_AGENTS = [
  /^Mozilla\/5\.0$/,
  /BingPreview/i,
  /Barracuda/i,
  /Mimecast/i,
  /Proofpoint/i,
  /\b(bot|crawler|spider|prefetch|preview)\b/i,
];

export function isMachineAgent(userAgent: string | undefined | null): boolean {
  const ua = (userAgent ?? '').trim();
  return !ua || MACHINE_AGENTS.some((re) => re.test(ua));
}

export function isImageProxy(userAgent: string | undefined | null): boolean {
  return IMAGE_PROXIES.some((re) => re.test(userAgent ?? ''));
}

/** A transparent 1x1 GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * Whether a link may redirect at once: to Filo itself or a domain the workspace has verified (read in its tenant).
 * Any other address gets a page that shows it first, so that Filo's name cannot dress up a workspace's link.
 */
export async function mayRedirect(em: EntityManager, url: string, publicUrl: string): Promise<boolean> {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host === new URL(publicUrl).hostname.toLowerCase()) return true;
  const verified = await em.find(SendingDomainSchema, { verifiedAt: { $ne: null } }, { fields: ['domain'] });
  return verified.some((d) => host === d.domain || host.endsWith(`.${d.domain}`));
}

export const NOT_FOUND_PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Link not found</title>
<body style="font-family:system-ui,sans-serif;margin:3rem auto;max-width:32rem;color:#334155">
<h1 style="font-size:1.25rem">This link is not valid</h1><p>It may have been copied incompletely.</p></body></html>`;

const escapeHtml = (v: string) =>
  v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Shown before leaving for an address outside the workspace's verified domains: the reader sees where it goes. */
export function leavingPage(url: string): string {
  const u = new URL(url);
  return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="robots" content="noindex">
<title>You are leaving for ${escapeHtml(u.hostname)}</title>
<body style="font-family:system-ui,sans-serif;margin:3rem auto;max-width:36rem;color:#334155">
<h1 style="font-size:1.25rem">This link leads to ${escapeHtml(u.hostname)}</h1>
<p style="word-break:break-all">${escapeHtml(url)}</p>
<p>Continue only if you trust the sender and this address.</p>
<p><a href="${escapeHtml(url)}" rel="noopener noreferrer nofollow">Continue to ${escapeHtml(u.hostname)}</a></p></body></html>`;
}
