import type { Request, RequestHandler } from 'express';
import { parseCookie } from 'cookie';
import { HttpError } from '../http/errors.ts';
import { SESSION_COOKIE, type AuthContext, type SessionsService } from './sessions.service.ts';

export function sessionToken(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  return parseCookie(cookieHeader)[SESSION_COOKIE];
}

/** Resolves the session cookie (if any) into `req.auth`; never rejects by itself. */
export function authenticate(sessions: SessionsService): RequestHandler {
  return async (req, _res, next) => {
    try {
      const auth = await sessions.resolve(sessionToken(req.headers.cookie));
      if (auth) req.auth = auth;
      next();
    } catch (err) {
      next(err);
    }
  };
}

export function requireAuth(req: Request): AuthContext {
  if (!req.auth) throw new HttpError(401, 'unauthorized', 'Sign in first');
  return req.auth;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence for cookie-authenticated writes: the browser's Origin must be this server's own origin
 * (as addressed by the request, or PUBLIC_URL). Requests with a bearer token carry no ambient authority.
 */
export function sameOriginWrites(publicUrl: string): RequestHandler {
  const publicOrigin = new URL(publicUrl).origin;
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method) || req.headers.authorization?.startsWith('Bearer ')) return next();
    const origin = req.headers.origin ?? refererOrigin(req.headers.referer);
    const own = `${req.protocol}://${req.headers.host}`;
    const hasCookie = Boolean(sessionToken(req.headers.cookie));
    if (origin === undefined ? hasCookie : origin !== own && origin !== publicOrigin) {
      return next(new HttpError(403, 'csrf_rejected', 'Cross-site request refused'));
    }
    next();
  };
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}
