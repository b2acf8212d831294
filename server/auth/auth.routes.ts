import { Router, type Response } from 'express';
import { z } from 'zod';
import { parseBody } from '../http/validate.ts';
import type { AuthService } from './auth.service.ts';
import { requireAuth, sessionToken } from './auth.middleware.ts';
import { SESSION_COOKIE, type AuthContext, type SessionsService } from './sessions.service.ts';

const loginBody = z.object({
  email: z.email().max(255),
  password: z.string().min(1).max(1024),
  workspace: z.string().min(1).max(63).optional(),
});

const mapMe = (auth: AuthContext) => ({ user: auth.user, workspace: auth.tenant, role: auth.role });

export function authRoutes(deps: { auth: AuthService; sessions: SessionsService; secureCookies: boolean }): Router {
  const router = Router();
  const cookieOptions = { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, path: '/' } as const;
  const clearSession = (res: Response) => res.clearCookie(SESSION_COOKIE, cookieOptions);

  router.post('/login', async (req, res) => {
    const body = parseBody(loginBody, req);
    const { token, expiresAt, context } = await deps.auth.login(body, { ip: req.ip, userAgent: req.get('user-agent') });
    res.cookie(SESSION_COOKIE, token, { ...cookieOptions, expires: expiresAt });
    res.json(mapMe(context));
  });

  router.post('/logout', async (req, res) => {
    const token = sessionToken(req.headers.cookie);
    if (token) await deps.sessions.revoke(token);
    clearSession(res).status(204).end();
  });

  router.get('/me', (req, res) => {
    res.json(mapMe(requireAuth(req)));
  });

  return router;
}
