import type { RequestHandler } from 'express';
import type { TokenFamily } from '#contracts/auth';
import { HttpError } from '../http/errors.ts';
import type { ApiTokensService } from './api-tokens.service.ts';
import { may } from './scopes.ts';
import { actorOf } from './auth.middleware.ts';

/**
 * The resource family a token needs a grant on for each API path (below /api), first match wins. `null`: any valid
 * token (who it acts for, the API's description). A path listed nowhere is open to unscoped tokens only, and
 * test/api-token-scopes.test.ts fails until it is listed: a new router is given its family here.
 */
const FAMILIES: [method: string | null, path: RegExp, family: TokenFamily | null][] = [
  ['GET', /^\/auth\/me$/, null],
  [null, /^\/openapi\.json$/, null],
  // Settings: the workspace's administration and the member's own account.
  [null, /^\/(auth|team|tokens|email-accounts|audit|retention|ops|system|storage|dev)(\/|$)/, 'settings'],
  [null, /^\/(inbox\/sending-domains|messaging\/accounts|messaging\/providers)(\/|$)/, 'settings'],
  [null, /^\/(crm|contacts|home|users)\/|^\/(search|notifications)(\/|$)/, 'crm'],
  [null, /^\/linked-records(\/|$)/, 'linked'],
  [null, /^\/messaging\/bulks(\/|$)/, 'marketing'],
  [null, /^\/(inbox|messaging)\//, 'inbox'],
  [null, /^\/tasks(\/|$)/, 'tasks'],
  [null, /^\/meetings(\/|$)/, 'meetings'],
  [null, /^\/(newsletters|sequences|consent)(\/|$)/, 'marketing'],
  [null, /^\/webhooks(\/|$)/, 'webhooks'],
  [null, /^\/workflows(\/|$)/, 'workflows'],
];

/** The family of `METHOD /path` (below /api): a family, null (any token), or undefined (not listed). */
export function familyOf(method: string, path: string): TokenFamily | null | undefined {
  const m = method.toUpperCase();
  const hit = FAMILIES.find(([verb, pattern]) => (verb === null || verb === m) && pattern.test(path));
  return hit ? hit[2] : undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * For requests an API token authenticated: its per-minute limit (429 `token_rate_limited`), then its grants on the
 * route's family (403 `insufficient_scope`). Sessions pass untouched. Handlers that need a linked-record kind call
 * `requireScope` themselves.
 */
export function tokenGrants(tokens: ApiTokensService): RequestHandler {
  return async (req, _res, next) => {
    const auth = req.auth;
    if (auth?.via !== 'token') return next();
    try {
      await tokens.limit(auth);
      const family = familyOf(req.method, req.path);
      const access = SAFE_METHODS.has(req.method) ? 'read' : 'write';
      const allowed = family === null || (family === undefined ? !auth.grants : may(actorOf(req), family, access));
      if (!allowed)
        throw new HttpError(403, 'insufficient_scope', `This API token may not ${access} ${family ?? 'this route'}`);
      next();
    } catch (err) {
      next(err);
    }
  };
}
