import { Router, type RequestHandler } from 'express';
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
  spec?: RouteSpec;
}

type Handlers = [RouteSpec, ...RequestHandler[]] | RequestHandler[];

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

  #add(method: Method, path: string, args: Handlers) {
    const [first, ...rest] = args;
    const spec = typeof first === 'function' ? undefined : first;
    const handlers = (spec ? rest : args) as RequestHandler[];
    this.routes.push({ method, path: `/api${this.mount}${path === '/' ? '' : path}`, ...(spec ? { spec } : {}) });
    this.router[method](path, ...handlers);
    return this;
  }

  get = (path: string, ...h: Handlers) => this.#add('get', path, h);
  post = (path: string, ...h: Handlers) => this.#add('post', path, h);
  patch = (path: string, ...h: Handlers) => this.#add('patch', path, h);
  put = (path: string, ...h: Handlers) => this.#add('put', path, h);
  delete = (path: string, ...h: Handlers) => this.#add('delete', path, h);
}
