import type { RequestHandler } from 'express';
import { HttpError } from './errors.ts';

const ACCEPTED = /^(application\/json|multipart\/form-data)\s*(;|$)/i;

/**
 * The API reads JSON bodies and multipart uploads only. A body of any other type would be silently ignored
 * (and the route run as if sent empty), so it is refused instead.
 */
export const jsonOrMultipartBodies: RequestHandler = (req, _res, next) => {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (hasBody && !ACCEPTED.test(req.headers['content-type'] ?? ''))
    return next(
      new HttpError(
        415,
        'unsupported_media_type',
        'Send the body as application/json (or multipart/form-data for files)',
      ),
    );
  next();
};
