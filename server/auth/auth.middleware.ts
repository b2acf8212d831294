import type { Request, RequestHandler } from 'express';
import { parseCookie } from 'cookie';
import { HttpError } from '../http/errors.ts';
import { SESSION_COOKIE, type AuthContext, type SessionsService } from './sessions.service.ts';
import { tokenExpired, type ApiTokensService } from './api-tokens.service.ts';
import type { Actor } from '../tenancy.ts';
import { throttled, type CredentialLimiter } from './credential-limiter.ts';

export function sessionToken(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  return parseCookie(cookieHeader)[SESSION_COOKIE];
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

const invalidToken = () => new HttpError(401, 'invalid_token', 'The API token is not valid');

/**
 * Resolves `Authorization: Bearer <api token>` or the session cookie into `req.auth`. Any Authorization header
 * that is not a valid bearer token is refused outright (401), never answered with the cookie's authority;
 * failed tokens count towards the address's credential limit.
 */
export function authenticate(
  sessions: SessionsService,
  tokens: ApiTokensService,
  credentials: CredentialLimiter,
): RequestHandler {
  return async (req, _res, next) => {
    try {
      if (req.headers.authorization !== undefined) {
        const bearer = bearerToken(req.headers.authorization);
        req.auth = await throttled(credentials, { ip: req.ip }, async () => {
          const auth = bearer ? await tokens.lookup(bearer) : null;
          if (auth === 'expired') throw tokenExpired();
          if (!auth) throw invalidToken();
          return auth;
        });
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
    ...(auth.grants ? { grants: auth.grants } : {}),
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

// Statuses that mean a link's token opened nothing (a valid link refused for another reason, 403, is no guess).
const LINK_REFUSED = new Set([401, 404, 410]);

/**
 * Calendar feed tokens and meeting guest links are credentials too: an address that keeps presenting ones that
 * open nothing is throttled like a password guesser.
 */
export function throttleLinks(credentials: CredentialLimiter): RequestHandler {
  return (req, res, next) => {
    const body = req.body as { guest?: unknown } | undefined;
    const link =
      req.path.startsWith('/meetings/feed/') || typeof req.query.guest === 'string' || typeof body?.guest === 'string';
    if (!link) return next();
    try {
      credentials.check(req.ip);
    } catch (err) {
      return next(err);
    }
    res.on('finish', () => {
      if (LINK_REFUSED.has(res.statusCode)) credentials.failed(req.ip);
    });
    next();
  };
}

/** Read-only API tokens (wall screens) read: every other method is refused here, whatever the route. */
export const readOnlyTokensRead: RequestHandler = (req, _res, next) => {
  if (req.auth?.scope === 'read' && !SAFE_METHODS.has(req.method))
    return next(new HttpError(403, 'read_only_token', 'This API token can only read'));
  next();
};

/**
 * CSRF defence for cookie-authenticated writes: the browser's Origin must be this server's own origin
 * (as addressed by the request, or PUBLIC_URL). Runs after `authenticate`: only a request that a valid bearer
 * token authenticated carries no ambient authority.
 */
export function sameOriginWrites(publicUrl: string): RequestHandler {
  const publicOrigin = new URL(publicUrl).origin;
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method) || req.auth?.via === 'token') return next();
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
