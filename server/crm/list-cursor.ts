import { HttpError } from '../http/errors.ts';

export const invalidCursor = () => new HttpError(400, 'invalid_cursor', 'The cursor is not valid for this list');

/** A keyset cursor as this API makes them: base64url JSON of an array of scalar values, one per sort key. */
export function wellFormedCursor(cursor: string): boolean {
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return (
      Array.isArray(values) &&
      values.length >= 1 &&
      values.length <= 3 &&
      values.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
    );
  } catch {
    return false;
  }
}

export const encodeCursor = (values: unknown[]): string => Buffer.from(JSON.stringify(values)).toString('base64url');

export const decodeCursor = (cursor: string): unknown =>
  JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
