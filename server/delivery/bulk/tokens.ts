import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Signed tokens naming one send row of the bulk engine, for the links and addresses a bulk message carries: the
 * one-click unsubscribe URL (`/u/<token>`), the VERP return path (`b+<token>@<workspace>.<INBOUND_DOMAIN>`), the
 * open pixel and each tracked link. A token is `base32(send id (16 bytes) | kind (1) | link index (2) | MAC (10))`,
 * lower-case without padding (47 characters): safe in a URL and in an address's local part, which some servers
 * lower-case. The MAC is HMAC-SHA256 under a key derived from SECRET_KEY for this purpose only.
 */

export type BulkTokenKind = 'unsubscribe' | 'bounce' | 'open' | 'click';
export interface BulkClaim {
  sendId: string;
  kind: BulkTokenKind;
  /** A tracked link's position (0 otherwise). */
  index: number;
}

const KINDS: BulkTokenKind[] = ['unsubscribe', 'bounce', 'open', 'click'];
const PAYLOAD = 16 + 1 + 2;
const MAC = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const TOKEN = /^[a-z2-7]{47}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function base32(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(s: string): Buffer {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of s) {
    value = (value << 5) | ALPHABET.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export class BulkTokens {
  readonly #key: Buffer;

  constructor(secretKey: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secretKey, 'filo', 'filo bulk send tokens v1', 32));
  }

  #mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(payload).digest().subarray(0, MAC);
  }

  sign(claim: BulkClaim): string {
    if (!UUID.test(claim.sendId)) throw new Error('a bulk token needs a send row uuid');
    const payload = Buffer.alloc(PAYLOAD);
    Buffer.from(claim.sendId.replace(/-/g, ''), 'hex').copy(payload, 0);
    payload.writeUInt8(KINDS.indexOf(claim.kind), 16);
    payload.writeUInt16BE(claim.index, 17);
    return base32(Buffer.concat([payload, this.#mac(payload)]));
  }

  /** The claim of a token this key signed (any letter case); null for anything else, compared in constant time. */
  verify(token: string, kind?: BulkTokenKind): BulkClaim | null {
    const t = token.toLowerCase();
    if (!TOKEN.test(t)) return null;
    const raw = unbase32(t);
    // One spelling per token: the last character's spare bits must be zero.
    if (raw.length !== PAYLOAD + MAC || base32(raw) !== t) return null;
    const payload = raw.subarray(0, PAYLOAD);
    if (!timingSafeEqual(raw.subarray(PAYLOAD), this.#mac(payload))) return null;
    const k = KINDS[payload.readUInt8(16)];
    if (!k || (kind && k !== kind)) return null;
    const hex = payload.subarray(0, 16).toString('hex');
    const sendId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    return { sendId, kind: k, index: payload.readUInt16BE(17) };
  }
}
