import { Router, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/**
 * What a route answers on success: a JSON body (its schema, from contracts/), `'empty'` (204, no body), or
 * `{ file }` (bytes of that media type: downloads, exports, raw messages).
 */
export type ResponseSpec = z.ZodType | 'empty' | { file: string };

/** A route's contract, declared where it is registered: the OpenAPI document is made from these. */
export interface RouteSpec {
  summary: string;
  /** The same zod objects the handler parses with. */
  body?: z.ZodType;
  query?: z.ZodType;
  response: ResponseSpec;
  /** The success status when it is not 200 (201 for a creation, 202 for queued work). */
  status?: number;
  /** No session: a signed token in the path or the body is the key. */
  public?: true;
}

export interface RouteInfo {
  method: Method;
  path: string;
  spec: RouteSpec;
}

/** Every route declares its contract first: there is no route the OpenAPI document cannot describe. */
type Handlers = [RouteSpec, ...RequestHandler[]];

const isSchema = (response: ResponseSpec): response is z.ZodType =>
  typeof response === 'object' && typeof (response as z.ZodType).safeParse === 'function';

const CHECKED = 'filoResponseChecked';

/**
 * An answer already written as JSON text (by PostgreSQL, for a hot read): sent as it is, with `res.json`'s headers;
 * where the route's answers are checked against its contract (tests), parsed and sent through the check instead.
 * Written by Node itself rather than `res.send`, which copied the text into a Buffer (then written apart from the
 * headers, a second write to the socket) and asked for freshness an answer without validators never has: a string
 * given to `end` goes out with the headers in one write. Node leaves out the body of a HEAD answer.
 */
export function sendJsonText(res: Response, text: string): void {
  if (res.locals[CHECKED] === true) {
    res.json(JSON.parse(text));
    return;
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * In tests (FILO_CHECK_RESPONSES=1) every 2xx JSON answer of a route is parsed, as sent, with its declared schema: a
 * mismatch becomes a 500 `response_contract` so that the test reading it fails where the contract and the code part.
 */
function checkResponses(route: string, schema: z.ZodType): RequestHandler {
  return (req, res, next) => {
    res.locals[CHECKED] = true;
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      if (res.statusCode < 200 || res.statusCode >= 300) return json(body);
      const sent: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
      const result = schema.safeParse(sent);
      if (result.success) return json(body);
      const issues = result.error.issues.slice(0, 5);
      req.log?.error({ route, issues }, 'response does not match its contract');
      const fields: Record<string, string> = {};
      for (const issue of issues) fields[issue.path.map(String).join('.') || '(body)'] ??= issue.message;
      const listed = Object.entries(fields)
        .map(([path, message]) => `${path}: ${message}`)
        .join('; ');
      res.status(500);
      return json({
        error: { code: 'response_contract', message: `${route} answered outside its contract: ${listed}`, fields },
      });
    };
    next();
  };
}

/**
 * An Express router that also remembers what it registered, with full paths and contracts, so that tests can
 * walk every route (tenant isolation) and the OpenAPI document can describe them.
 */
export class ApiRouter {
  readonly router = Router();
  readonly routes: RouteInfo[] = [];
  /** Where the router is mounted below /api, e.g. `/crm`. */
  readonly mount: string;

  constructor(mount: string) {
    this.mount = mount;
  }

  #add(method: Method, path: string, [spec, ...given]: Handlers) {
    const full = `/api${this.mount}${path === '/' ? '' : path}`;
    this.routes.push({ method, path: full, spec });
    const handlers =
      process.env.FILO_CHECK_RESPONSES === '1' && isSchema(spec.response)
        ? [checkResponses(`${method.toUpperCase()} ${full}`, spec.response), ...given]
        : given;
    // The pattern, for the metrics' route label (never the URL, which carries ids).
    this.router[method](path, (_req, res, next) => ((res.locals.route = full), next()), ...handlers);
    return this;
  }

  get = (path: string, ...h: Handlers) => this.#add('get', path, h);
  post = (path: string, ...h: Handlers) => this.#add('post', path, h);
  patch = (path: string, ...h: Handlers) => this.#add('patch', path, h);
  put = (path: string, ...h: Handlers) => this.#add('put', path, h);
  delete = (path: string, ...h: Handlers) => this.#add('delete', path, h);
}
