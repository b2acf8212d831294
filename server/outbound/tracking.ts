import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Open and click tracking of outgoing mail (opt-in per mailbox): signed, unguessable tokens, the HTML rewriting
 * done when a message is sent, and what counts as a machine (proxy or prefetch) rather than a person.
 *
 * A token is `base64url(message id (16 bytes) | kind (1) | link index (2, big-endian) | MAC (16))`, the MAC being
 * HMAC-SHA256 under a key derived from SECRET_KEY (HKDF, its own purpose). It names a message and a position only;
 * the link's address is looked up in what was sent, so a token can never redirect anywhere else.
 */

export type TrackingKind = 'open' | 'click';
export interface TrackingClaim {
  messageId: string;
  kind: TrackingKind;
  /** The link's position in the message's tracked links (0 for the open pixel). */
  index: number;
}

const KIND_BYTE: Record<TrackingKind, number> = { open: 0, click: 1 };
const PAYLOAD = 16 + 1 + 2;
const MAC = 16;
const TOKEN = /^[A-Za-z0-9_-]{47}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** At most this many distinct links are tracked per message; further ones are sent as they are. */
export const MAX_TRACKED_LINKS = 500;

export class TrackingTokens {
  readonly #key: Buffer;

  constructor(secretKey: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secretKey, 'filo', 'filo tracking tokens v1', 32));
  }

  #mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(payload).digest().subarray(0, MAC);
  }

  sign(claim: TrackingClaim): string {
    if (!UUID.test(claim.messageId)) throw new Error('a tracking token needs a message uuid');
    const payload = Buffer.alloc(PAYLOAD);
    Buffer.from(claim.messageId.replace(/-/g, ''), 'hex').copy(payload, 0);
    payload.writeUInt8(KIND_BYTE[claim.kind], 16);
    payload.writeUInt16BE(claim.index, 17);
    return Buffer.concat([payload, this.#mac(payload)]).toString('base64url');
  }

  /** The claim of a token this key signed; null for anything else (compared in constant time). */
  verify(token: string): TrackingClaim | null {
    if (!TOKEN.test(token)) return null;
    const raw = Buffer.from(token, 'base64url');
    // Exactly one spelling per token (the last character's spare bits must be zero).
    if (raw.length !== PAYLOAD + MAC || raw.toString('base64url') !== token) return null;
    const payload = raw.subarray(0, PAYLOAD);
    if (!timingSafeEqual(raw.subarray(PAYLOAD), this.#mac(payload))) return null;
    const kindByte = payload.readUInt8(16);
    const kind = kindByte === 0 ? 'open' : kindByte === 1 ? 'click' : null;
    if (!kind) return null;
    const hex = payload.subarray(0, 16).toString('hex');
    const messageId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    return { messageId, kind, index: payload.readUInt16BE(17) };
  }
}

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decodeAttr = (v: string) =>
  v.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (m, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITY[e.toLowerCase()] ?? m;
  });
const escapeAttr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The HTML as it goes out from a tracking mailbox: `http(s)` links through `<publicUrl>/t/c/<token>` (the same
 * address twice is one tracked link) and a 1x1 pixel `<publicUrl>/t/o/<token>.gif` at the end. `links` are the
 * original addresses in token index order, to be stored with the message. The text part is not touched.
 */
export function trackHtml(
  html: string,
  opts: { messageId: string; opens: boolean; clicks: boolean; publicUrl: string; tokens: TrackingTokens },
): { html: string; links: string[] } {
  const base = opts.publicUrl.replace(/\/+$/, '');
  const links: string[] = [];
  let out = html;
  if (opts.clicks) {
    out = out.replace(/(<a\b[^>]*?\shref=)"([^"]*)"/gi, (whole, start: string, raw: string) => {
      const url = decodeAttr(raw).trim();
      if (!/^https?:\/\//i.test(url)) return whole;
      let index = links.indexOf(url);
      if (index < 0) {
        if (links.length >= MAX_TRACKED_LINKS) return whole;
        index = links.push(url) - 1;
      }
      const token = opts.tokens.sign({ messageId: opts.messageId, kind: 'click', index });
      return `${start}"${escapeAttr(`${base}/t/c/${token}`)}"`;
    });
  }
  if (opts.opens) {
    const token = opts.tokens.sign({ messageId: opts.messageId, kind: 'open', index: 0 });
    out += `<img src="${escapeAttr(`${base}/t/o/${token}.gif`)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
  }
  return { html: out, links };
}

// What counts as a machine, and the pixel, are shared with bulk mail (server/delivery/tracking-rules.ts).
export { isImageProxy, isMachineAgent, PIXEL_GIF } from '../delivery/tracking-rules.ts';
