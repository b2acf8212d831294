import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { HttpError } from '../../http/errors.ts';
import type { FiloMetrics } from './metrics.ts';

/** What the limiter of credential checks offers (server/auth/credential-limiter.ts). */
interface Limiter {
  check(ip: string | undefined): void;
  failed(ip: string | undefined): void;
}

/**
 * The route's pattern, never the URL: an ApiRouter route names its full pattern in `res.locals.route`; another
 * Express route gives its own path pattern; anything else (static files, unknown paths, refused before routing)
 * is one of two fixed labels.
 */
export function routeLabel(req: Request, res: Response): string {
  const declared = res.locals.route as unknown;
  if (typeof declared === 'string') return declared;
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return path;
  return req.originalUrl.startsWith('/api/') ? '/api (no route)' : '(no route)';
}

/** Times every request until its answer is sent (or the client goes away). */
export function httpMetrics(metrics: FiloMetrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    // 'close' comes last, answered or not (`writableFinished` tells which): one listener, where 'finish' and
    // 'close' were two (and a flag).
    res.once('close', () => {
      const status = res.writableFinished ? res.statusCode : 499;
      end({ method: req.method, route: routeLabel(req, res), status_class: `${Math.floor(status / 100)}xx` });
    });
    next();
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `GET /metrics` on the public port: a 404 while METRICS_TOKEN is unset (nothing to discover), else the bearer
 * token is required; wrong tokens count as failed credential checks for the client's address.
 */
export function metricsEndpoint(metrics: FiloMetrics, token: string | undefined, limiter: Limiter): RequestHandler {
  const expected = token ? digest(token) : null;
  return async (req, res, next) => {
    try {
      if (!expected) throw new HttpError(404, 'not_found', 'Not found');
      limiter.check(req.ip);
      const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!given || !timingSafeEqual(digest(given), expected)) {
        limiter.failed(req.ip);
        throw new HttpError(401, 'unauthorized', 'A valid metrics token is required');
      }
      const { contentType, body } = await metrics.scrape();
      res.setHeader('Cache-Control', 'no-store').type(contentType).send(body);
    } catch (err) {
      next(err);
    }
  };
}

/** METRICS_PORT: `/metrics` without a token on 127.0.0.1 only (for a local Prometheus or an agent), any role. */
export async function startMetricsListener(
  metrics: FiloMetrics,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) =>
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
