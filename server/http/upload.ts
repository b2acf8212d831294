import busboy from 'busboy';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { HttpError } from './errors.ts';

/**
 * One file from a multipart/form-data body, fields first (as a FormData built in that order sends them);
 * `take` consumes the file's stream (straight to storage, never whole in memory). Whatever `take` decides,
 * the rest of the stream is drained so that the request can finish.
 */
export function receiveFile<T>(
  req: Request,
  take: (fields: Record<string, string>, file: { name: string; stream: Readable }) => Promise<T>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      // Browsers send file names as raw UTF-8 (not RFC 2231): read as latin1 they would turn to mojibake.
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: { files: 1, fields: 10, fieldSize: 1024 },
      });
    } catch {
      return reject(new HttpError(415, 'unsupported_media_type', 'Send the file as multipart/form-data'));
    }
    const fields: Record<string, string> = {};
    let result: Promise<T> | undefined;
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (_name, stream, info) => {
      // A body cut short errors this stream too, maybe before `take` reads it: the parser's error answers it.
      stream.on('error', () => {});
      try {
        result = take(fields, { name: info.filename || 'file', stream });
      } catch (err) {
        result = Promise.reject(err);
      }
      result.catch(() => stream.resume());
    });
    parser.on('error', (err) => reject(new HttpError(400, 'invalid_multipart', (err as Error).message)));
    parser.on('close', () => {
      if (!result)
        return reject(new HttpError(400, 'validation_failed', 'No file in the upload', { file: 'is required' }));
      result.then(resolve, reject);
    });
    req.pipe(parser);
  });
}
