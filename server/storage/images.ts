import type { Request, Response } from 'express';
import { fileTypeFromFile } from 'file-type';
import { HttpError } from '../http/errors.ts';
import { receiveFile } from '../http/upload.ts';
import type { BlobStore } from './blob-store.ts';

/** Avatars and logos: small pictures of these types only (never SVG, which can carry script). */
export const IMAGE_MAX_BYTES = 2 * 1024 * 1024;
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);

/**
 * Receives one image of a multipart upload into the blob store and answers its key, or refuses it: over 2 MB 413,
 * anything whose bytes are not PNG, JPEG or WebP 400 `unsupported_image` (the name and declared type are ignored).
 */
async function receiveImage(req: Request, blobs: BlobStore, prefix: string): Promise<string> {
  return receiveFile(req, async (_fields, file) => {
    const blob = await blobs.put(file.stream, { prefix, maxBytes: IMAGE_MAX_BYTES });
    if (!blob.complete)
      throw new HttpError(413, 'payload_too_large', `Images are limited to ${IMAGE_MAX_BYTES / 1024 / 1024} MB`);
    const type = await fileTypeFromFile(blobs.path(blob.key)).catch(() => undefined);
    if (!type || !IMAGE_TYPES.has(type.mime)) {
      await blobs.remove(blob.key);
      throw new HttpError(400, 'unsupported_image', 'The picture must be a PNG, JPEG or WebP image', {
        file: 'must be a PNG, JPEG or WebP image',
      });
    }
    return blob.key;
  });
}

/** Sends a stored image as itself (its type sniffed again from the bytes), privately cacheable. */
async function sendImage(res: Response, blobs: BlobStore, key: string): Promise<void> {
  const type = await fileTypeFromFile(blobs.path(key)).catch(() => undefined);
  if (!type || !IMAGE_TYPES.has(type.mime)) throw new HttpError(404, 'not_found', 'No such picture');
  res.setHeader('Content-Type', type.mime);
  // The URL carries a version of the picture, so a browser may keep it; only this user's browser.
  res.setHeader('Cache-Control', 'private, max-age=86400');
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  const stream = blobs.open(key);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** The version part of a picture's URL: changes whenever a new picture is stored. */
export const imageVersion = (key: string) => key.slice(-12);

/** Avatars and logos in the blob store: received from an upload, sent as themselves, removed when replaced. */
export class Pictures {
  readonly #blobs: BlobStore;

  constructor(blobs: BlobStore) {
    this.#blobs = blobs;
  }

  receive(req: Request, prefix: 'avatars' | 'logos'): Promise<string> {
    return receiveImage(req, this.#blobs, prefix);
  }

  send(res: Response, key: string): Promise<void> {
    return sendImage(res, this.#blobs, key);
  }

  remove(key: string): Promise<void> {
    return this.#blobs.remove(key);
  }
}
