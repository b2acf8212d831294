import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import { isDatabaseUnavailable } from './unavailable.ts';

/** An error meant for the client: an HTTP status, a machine-readable code and a sentence. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string> | undefined;
  /** More of the answer beside code and message (a 409 `version_conflict` carries the current record). */
  readonly extra: Record<string, unknown> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    fields?: Record<string, string>,
    extra?: Record<string, unknown>,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.extra = extra;
  }
}

export const notFound = (what = 'Resource') => new HttpError(404, 'not_found', `${what} not found`);

/** Why a field failed, machine-readable: the web words it in the user's language beside the field. */
export interface FieldIssue {
  reason: string;
  limit?: number;
}

/** A zod issue's reason: `required`, `too_long` (with its limit), `invalid_email`, `invalid_url`, ... */
export function issueReason(issue: z.core.$ZodIssue): FieldIssue {
  const params = (issue as { params?: { reason?: string } }).params;
  if (params?.reason) return { reason: params.reason };
  switch (issue.code) {
    case 'invalid_type':
      // zod leaves the input out of its issues: its message says what it received.
      return /received (undefined|null)$/.test(issue.message)
        ? { reason: 'required' }
        : { reason: issue.expected === 'number' ? 'invalid_number' : 'invalid' };
    case 'too_small':
      return issue.origin === 'string' && Number(issue.minimum) <= 1 ? { reason: 'required' } : { reason: 'invalid' };
    case 'too_big':
      return issue.origin === 'string' ? { reason: 'too_long', limit: Number(issue.maximum) } : { reason: 'invalid' };
    case 'invalid_format':
      return issue.format === 'email'
        ? { reason: 'invalid_email' }
        : issue.format === 'date'
          ? { reason: 'invalid_date' }
          : { reason: 'invalid' };
    case 'invalid_value':
      return { reason: 'invalid_choice' };
    default:
      return { reason: 'invalid' };
  }
}

/** The reason behind a hand-written field message ("must be a number", "is required"), for errors zod did not make. */
export function messageReason(message: string): FieldIssue {
  if (/required/.test(message)) return { reason: 'required' };
  if (/email/.test(message)) return { reason: 'invalid_email' };
  if (/URL/.test(message)) return { reason: 'invalid_url' };
  if (/date/.test(message)) return { reason: 'invalid_date' };
  if (/number|amount/.test(message)) return { reason: 'invalid_number' };
  if (/one of|drawn from/.test(message)) return { reason: 'invalid_choice' };
  return { reason: 'invalid' };
}

export function validationError(error: z.ZodError, where: 'body' | 'query' | 'params' = 'body'): HttpError {
  const fields: Record<string, string> = {};
  const issues: Record<string, FieldIssue> = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.join('.') : where;
    fields[key] ??= issue.message;
    issues[key] ??= issueReason(issue);
  }
  return new HttpError(400, 'validation_failed', `The request ${where} is not valid`, fields, { issues });
}

export const unknownApiRoute: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.baseUrl}${req.path}`));
};

/** An error that body-parser (http-errors) marked as the client's, with a 4xx status. */
const isClientError = (err: unknown): err is { status: number } => {
  const status = (err as { status?: unknown; expose?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: unknown }).expose === true;
};

/** The one place errors become responses: `{"error": {code, message, fields?}}`, never a stack trace. */
export const errorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) return next(err);
  let httpError: HttpError;
  if (err instanceof HttpError) httpError = err;
  else if (err instanceof z.ZodError) httpError = validationError(err);
  else if (err?.type === 'entity.parse.failed')
    httpError = new HttpError(400, 'invalid_json', 'The body is not valid JSON');
  else if (err?.type === 'entity.too.large')
    httpError = new HttpError(413, 'payload_too_large', 'The request body is too large');
  else if (err?.type === 'encoding.unsupported' || err?.type === 'charset.unsupported')
    httpError = new HttpError(415, 'unsupported_encoding', 'The request body encoding is not supported');
  else if ((err as { code?: unknown } | null)?.code === '22P02') {
    // PostgreSQL could not read a value as its column's type (a malformed id that no contract checked): the
    // request's value, so a 400; logged, since a contract should have refused it first.
    req.log?.warn({ err: { message: (err as Error).message } }, 'a value the database could not read');
    httpError = new HttpError(400, 'invalid_value', 'A value in the request is not of the expected type');
  } else if (isClientError(err))
    // A body that could not be read (bad gzip or deflate, aborted, wrong length): the sender's fault, never a 500.
    httpError = new HttpError(err.status, 'invalid_body', 'The request body could not be read');
  else if (isDatabaseUnavailable(err)) {
    // PostgreSQL restarting or unreachable: a quick 503 the client may retry, and the pool reconnects by itself.
    req.log?.warn({ err }, 'database unavailable');
    httpError = Object.assign(
      new HttpError(503, 'database_unavailable', 'The database is not reachable right now: try again shortly'),
      { retryAfter: 5 },
    );
  } else {
    req.log?.error({ err }, 'unhandled error');
    httpError = new HttpError(500, 'internal_error', 'Something went wrong on our side');
  }
  const body: { code: string; message: string; fields?: Record<string, string> } = {
    ...httpError.extra,
    code: httpError.code,
    message: httpError.message,
  };
  if (httpError.fields) {
    body.fields = httpError.fields;
    // Field errors written by hand (custom fields, references) get their reasons too, for the forms.
    if (httpError.status === 400 && !httpError.extra?.issues)
      (body as Record<string, unknown>).issues = Object.fromEntries(
        Object.entries(httpError.fields).map(([k, m]) => [k, messageReason(m)]),
      );
  }
  const retryAfter = (err as { retryAfter?: number }).retryAfter;
  const retry = (httpError as { retryAfter?: number }).retryAfter ?? retryAfter;
  if ((httpError.status === 429 || httpError.status === 503) && retry) res.setHeader('Retry-After', String(retry));
  res.status(httpError.status).json({ error: body });
};
