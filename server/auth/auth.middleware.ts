import type { Request, RequestHandler } from 'express';
import { parseCookie } from 'cookie';
import { HttpError } from '../http/errors.ts';
import { SESSION_COOKIE, type AuthContext, type SessionsService } from './sessions.service.ts';
import type { ApiTokensService } from './api-tokens.service.ts';
import type { Actor } from '../tenancy.ts';

export function sessionToken(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  return parseCookie(cookieHeader)[SESSION_COOKIE];
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

/**
 * Resolves `Authorization: Bearer <api token>` or the session cookie into `req.auth`. A bearer token that
 * is not valid is refused outright (401) rather than falling back to the cookie.
 */
export function authenticate(sessions: SessionsService, tokens: ApiTokensService): RequestHandler {
  return async (req, _res, next) => {
    try {
      const bearer = bearerToken(req.headers.authorization);
      if (bearer) {
        const auth = await tokens.resolve(bearer);
        if (!auth) return next(new HttpError(401, 'invalid_token', 'The API token is not valid'));
        req.auth = auth;
      } else {
        const auth = await sessions.resolve(sessionToken(req.headers.cookie));
        if (auth) req.auth = auth;
      }
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

/** The acting member for tenant-scoped services. */
export function actorOf(req: Request): Actor {
  const auth = requireAuth(req);
  return {
    tenantId: auth.tenant.id,
    userId: auth.user.id,
    userName: auth.user.name,
    role: auth.role,
    scope: auth.scope,
  };
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
