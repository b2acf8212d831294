import type { Request } from 'express';
import { z } from 'zod';
import { HttpError, notFound, validationError } from './errors.ts';

/** Parses the request body with a zod schema, or throws a 400 naming each bad field. */
export function parseBody<S extends z.ZodType>(schema: S, req: Request): z.infer<S> {
  // A multipart body was not parsed as JSON: reading it as empty would run the route on nothing.
  if (/^multipart\//i.test(req.headers['content-type'] ?? ''))
    throw new HttpError(415, 'unsupported_media_type', 'Send this request as application/json');
  const result = schema.safeParse(req.body ?? {});
  if (!result.success) throw validationError(result.error, 'body');
  return result.data;
}

/**
 * Parses the query string. An empty value (`?type=`, what an HTML form sends for an unset filter) means the
 * parameter is absent, as in every search form a user has met.
 */
export function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.infer<S> {
  const result = schema.safeParse(presentQuery(req));
  if (!result.success) throw validationError(result.error, 'query');
  return result.data;
}

/** The query parameters that have a value. */
export function presentQuery(req: Request): Record<string, unknown> {
  // A loop, not entries/filter/fromEntries: three arrays a request on the hottest reads (timeline, lists). No
  // route has a `__proto__` parameter, and assigning one would set the object's prototype: left out.
  const present: Record<string, unknown> = {};
  for (const key in req.query) {
    const value = req.query[key];
    if (value !== '' && key !== '__proto__') present[key] = value;
  }
  return present;
}

const uuid = z.uuid();

/** A path id: a malformed one cannot exist, so it is answered as any unknown id (404), never 400. */
export function idOf(value: unknown, what = 'Resource'): string {
  const id = uuid.safeParse(value);
  if (!id.success) throw notFound(what);
  return id.data;
}
