import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { Logger } from '../logger.ts';
import { redactUrl } from './redact.ts';

declare module 'node:http' {
  interface IncomingMessage {
    /** The request's id: the client's well-formed `X-Request-Id`, else a new one (echoed in the answer). */
    id?: string;
    /** A logger bound to this request (`req`: id, method, redacted URL, address), made on first use. */
    log?: Logger;
  }
}

const REQUEST_ID = /^[\w.-]{1,128}$/;
const BOUND = Symbol('request logger');
type Logged = IncomingMessage & { originalUrl?: string; [BOUND]?: Logger };

/** The request as the log shows it: never its headers or body, and its URL with every credential redacted. */
const requestFields = (req: IncomingMessage & { originalUrl?: string }) => ({
  id: req.id,
  method: req.method,
  // Calendar feed, tracking and guest tokens are credentials: never in the log.
  url: redactUrl(req.originalUrl ?? req.url ?? ''),
  remoteAddress: req.socket.remoteAddress,
});

/**
 * The access log: one line per request when it ends ("request completed" at info, "request errored" at error for
 * a 5xx, "request aborted" when the client went away first), with its status and time, in the shape pino-http
 * wrote. It replaces pino-http, which built a child logger, serialized the request and redacted its URL for
 * every request up front, whether or not anything was logged (a tenth of a cached `/api/auth/me`'s CPU with the
 * log off: bench/README.md). Here the request's logger is made only when something logs through it.
 */
export function requestLog(app: Express, log: Logger, opts: { ignore?: (req: IncomingMessage) => boolean } = {}): void {
  // Every request of the app has `app.request` as its prototype: the lazy logger is one getter there, defined
  // once, not a property defined on each request (which cost a cached `/api/auth/me` 2 % of its CPU).
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: Logged) {
      return (this[BOUND] ??= log.child({ req: requestFields(this) }));
    },
    set(this: Logged, logger: Logger) {
      this[BOUND] = logger;
    },
  });
  app.use((req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    if (!opts.ignore?.(req)) {
      const started = performance.now();
      // 'close' comes last, answered or not (`writableFinished` tells which).
      res.once('close', () => logEnd(log, req, res, performance.now() - started));
    }
    next();
  });
}

function logEnd(log: Logger, req: IncomingMessage, res: ServerResponse, ms: number): void {
  const failed = res.writableFinished && res.statusCode >= 500;
  // Checked on the workspace's logger: the request's own is made only if this line is written.
  if (!log.isLevelEnabled(failed ? 'error' : 'info') || !req.log) return;
  const fields = { res: { statusCode: res.statusCode }, responseTime: Math.round(ms) };
  if (!res.writableFinished) req.log.info(fields, 'request aborted');
  else if (failed) req.log.error(fields, 'request errored');
  else req.log.info(fields, 'request completed');
}
