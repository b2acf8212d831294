import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * Secrets at rest (mail credentials, DKIM keys): AES-256-GCM under a key derived from SECRET_KEY with HKDF, a fresh
 * 96-bit nonce each time, the purpose bound as associated data so a value cannot be moved to another column.
 * Stored as `v1:<nonce>:<tag>:<ciphertext>` (base64url).
 */
export class Secrets {
  readonly #key: Buffer;

  constructor(secretKey: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secretKey, 'filo', 'filo secrets at rest v1', 32));
  }

  encrypt(plain: string, purpose: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(Buffer.from(purpose));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, nonce, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join(':');
  }

  /** Throws when the value was not encrypted with this key and purpose (or was tampered with). */
  decrypt(stored: string, purpose: string): string {
    const [version, nonce, tag, data] = stored.split(':');
    if (version !== VERSION || !nonce || !tag || data === undefined) throw new Error('not an encrypted secret');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(nonce, 'base64url'));
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}
