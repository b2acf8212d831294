import { Router, type RequestHandler } from 'express';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

export interface RouteInfo {
  method: Method;
  path: string;
}

/**
 * An Express router that also remembers what it registered, with full paths, so that tests can walk every
 * route (tenant isolation) and the OpenAPI document can list them.
 */
export class ApiRouter {
  readonly router = Router();
  readonly routes: RouteInfo[] = [];
  /** Where the router is mounted below /api, e.g. `/crm`. */
  readonly mount: string;

  constructor(mount: string) {
    this.mount = mount;
  }

  #add(method: Method, path: string, handlers: RequestHandler[]) {
    this.routes.push({ method, path: `/api${this.mount}${path === '/' ? '' : path}` });
    this.router[method](path, ...handlers);
    return this;
  }

  get = (path: string, ...h: RequestHandler[]) => this.#add('get', path, h);
  post = (path: string, ...h: RequestHandler[]) => this.#add('post', path, h);
  patch = (path: string, ...h: RequestHandler[]) => this.#add('patch', path, h);
  put = (path: string, ...h: RequestHandler[]) => this.#add('put', path, h);
  delete = (path: string, ...h: RequestHandler[]) => this.#add('delete', path, h);
}
