import { z } from 'zod';
import { me, signupRequested } from '#contracts/auth';
import { ApiRouter } from '../http/routes.ts';
import { parseBody } from '../http/validate.ts';
import type { Services } from '../services.ts';
import { password } from './auth.routes.ts';
import { throttled } from './credential-limiter.ts';
import { SESSION_COOKIE } from './sessions.service.ts';

export const resetRequestBody = z.object({ email: z.email().max(255) }).strict();
export const resetTokenBody = z.object({ token: z.string().min(20).max(200) }).strict();
export const resetConfirmBody = z.object({ token: z.string().min(20).max(200), password }).strict();
const linkStatus = z.object({ status: z.literal('valid') });

/** "Forgot password?": ask for a link by mail, check it, set the new password with it (public routes). */
export function passwordResetRoutes(s: Services, opts: { secureCookies: boolean }): ApiRouter {
  const r = new ApiRouter('/auth/password-reset');
  const cookieOptions = { httpOnly: true, sameSite: 'lax', secure: opts.secureCookies, path: '/' } as const;

  const requestSpec = {
    summary: 'Ask for a password reset link: mailed if the address has an account, the same answer either way',
    body: resetRequestBody,
    response: signupRequested,
    status: 202,
    public: true,
  } as const;
  r.post('/', requestSpec, (req, res) => {
    const body = parseBody(resetRequestBody, req);
    s.passwordResets.request(body.email, { ip: req.ip });
    res.status(202).json({ status: 'check_inbox' });
  });

  const checkSpec = {
    summary: 'Whether a reset link still works (410 reset_link_used / reset_link_expired)',
    body: resetTokenBody,
    response: linkStatus,
    public: true,
  } as const;
  r.post('/check', checkSpec, async (req, res) => {
    const body = parseBody(resetTokenBody, req);
    await throttled(s.credentials, { ip: req.ip }, () => s.passwordResets.check(body.token));
    res.json({ status: 'valid' });
  });

  const confirmSpec = {
    summary: 'Set a new password from a reset link: every session of the user ends, and this one signs in',
    body: resetConfirmBody,
    response: me,
    public: true,
  } as const;
  r.post('/confirm', confirmSpec, async (req, res) => {
    const body = parseBody(resetConfirmBody, req);
    const session = await throttled(s.credentials, { ip: req.ip }, () =>
      s.passwordResets.reset(body.token, body.password, { ip: req.ip, userAgent: req.get('user-agent') }),
    );
    const context = await s.sessions.resolve(session.token);
    await s.audit.passwordChanged(context!, 'auth.password_reset');
    res.cookie(SESSION_COOKIE, session.token, { ...cookieOptions, expires: session.expiresAt });
    res.json({ user: context!.user, workspace: context!.tenant, role: context!.role });
  });

  return r;
}
