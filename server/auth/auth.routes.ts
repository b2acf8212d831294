import { type Response } from 'express';
import { z } from 'zod';
import { me, profilePatch, signupRequested } from '#contracts/auth';
import { ApiRouter } from '../http/routes.ts';
import { parseBody } from '../http/validate.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import { HttpError } from '../http/errors.ts';
import type { Services } from '../services.ts';
import { normalizeEmail } from './auth.service.ts';
import { requireAuth, sessionToken } from './auth.middleware.ts';
import { SESSION_COOKIE, type AuthContext } from './sessions.service.ts';
import { throttled } from './credential-limiter.ts';
import { weakPassword } from './common-passwords.ts';
import { pictureUrls } from './profile.service.ts';

export const password = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(1024)
  .superRefine((value, ctx) => {
    const weak = weakPassword(value);
    if (weak) ctx.addIssue({ code: 'custom', message: weak });
  });

export const loginBody = z.object({
  email: z.email().max(255),
  password: z.string().min(1).max(1024),
  workspace: z.string().min(1).max(63).optional(),
});
export const signupBody = z.object({
  workspace: z.string().trim().min(1).max(255),
  name: z.string().trim().min(1).max(255),
  email: z.email().max(255),
  password,
});
export const confirmBody = z.object({ token: z.string().min(20).max(200) });
export const acceptBody = z.object({
  token: z.string().min(20).max(200),
  name: z.string().trim().min(1).max(255).optional(),
  // Only for a new account: an existing one accepts while signed in, never by password through the link.
  password: password.optional(),
});
export const passwordChange = z.object({ current: z.string().min(1).max(1024), password }).strict();

const mapMe = (auth: AuthContext) => ({ user: auth.user, workspace: auth.tenant, role: auth.role });

export function authRoutes(s: Services, opts: { secureCookies: boolean }): ApiRouter {
  const r = new ApiRouter('/auth');
  const cookieOptions = { httpOnly: true, sameSite: 'lax', secure: opts.secureCookies, path: '/' } as const;
  const setSession = (res: Response, session: { token: string; expiresAt: Date }) =>
    res.cookie(SESSION_COOKIE, session.token, { ...cookieOptions, expires: session.expiresAt });
  const signups = new RateLimiter(10, 60 * 60_000);
  const meta = (req: { ip?: string | undefined; get(h: string): string | undefined }) => ({
    ip: req.ip,
    userAgent: req.get('user-agent'),
  });

  r.post('/login', { summary: 'Sign in', body: loginBody, response: me, public: true }, async (req, res) => {
    const body = parseBody(loginBody, req);
    const email = normalizeEmail(body.email);
    const { context, ...session } = await throttled(s.credentials, { ip: req.ip, account: email }, () =>
      s.auth.login(body, meta(req)),
    ).catch((err: unknown) => s.audit.refusedSignIn(err, email, body.workspace));
    await s.audit.signedIn(context);
    setSession(res, session);
    res.json(mapMe(context));
  });

  // The same answer whether or not the address has an account: what happens next is told only by mail, to it.
  const signupSpec = {
    summary: 'Ask for a workspace: its owner is mailed a confirmation link',
    body: signupBody,
    response: signupRequested,
    status: 202,
    public: true,
  } as const;
  r.post('/signup', signupSpec, async (req, res) => {
    const body = parseBody(signupBody, req);
    signups.hit(`ip:${req.ip}`);
    await s.team.requestSignup(body, { ip: req.ip });
    res.status(202).json({ status: 'check_inbox' });
  });

  const confirmSpec = {
    summary: 'Confirm a sign-up: create the workspace and its owner, and sign in',
    body: confirmBody,
    response: me,
    status: 201,
    public: true,
  } as const;
  r.post('/signup/confirm', confirmSpec, async (req, res) => {
    const body = parseBody(confirmBody, req);
    const session = await throttled(s.credentials, { ip: req.ip }, () => s.team.confirmSignup(body.token, meta(req)));
    const context = await s.sessions.resolve(session.token);
    setSession(res, session);
    res.status(201).json(mapMe(context!));
  });

  const acceptSpec = {
    summary: 'Accept an invitation (a new account, or the signed-in one) and sign in to its workspace',
    body: acceptBody,
    response: me,
    public: true,
  } as const;
  r.post('/accept-invite', acceptSpec, async (req, res) => {
    const body = parseBody(acceptBody, req);
    const session = await throttled(s.credentials, { ip: req.ip }, () =>
      s.team.acceptInvite(body, meta(req), req.auth?.via === 'session' ? req.auth.user : undefined),
    );
    const context = await s.sessions.resolve(session.token);
    setSession(res, session);
    res.json(mapMe(context!));
  });

  r.post('/logout', { summary: 'Sign out: the session ends', response: 'empty' }, async (req, res) => {
    const token = sessionToken(req.headers.cookie);
    if (req.auth?.via === 'session') await s.audit.signedOut(req.auth);
    if (token) await s.sessions.revoke(token);
    res.clearCookie(SESSION_COOKIE, cookieOptions).status(204).end();
  });

  const passwordSpec = {
    summary: 'Change your password (signed-in users): your other sessions end',
    body: passwordChange,
    response: 'empty',
  } as const;
  r.post('/password', passwordSpec, async (req, res) => {
    const auth = requireAuth(req);
    if (auth.via !== 'session')
      throw new HttpError(403, 'session_required', 'Only a signed-in user can change their password');
    const body = parseBody(passwordChange, req);
    // The current password is a credential like any: a borrowed session must not be able to guess it.
    await throttled(s.credentials, { ip: req.ip, account: auth.user.email }, () =>
      s.auth.changePassword(auth.user.id, body.current, body.password, auth.sessionId),
    );
    await s.audit.passwordChanged(auth, 'auth.password_changed');
    res.status(204).end();
  });

  // The app shell asks this once: the user's picture and the workspace's logo come with it (with a session, from
  // its look-up: no query of its own).
  const withPictures = async (auth: AuthContext) => {
    const { avatarUrl, logoUrl } = auth.pictures
      ? pictureUrls(auth.user.id, auth.pictures)
      : await s.profiles.pictures(auth.user.id, auth.tenant.id);
    return { user: { ...auth.user, avatarUrl }, workspace: { ...auth.tenant, logoUrl }, role: auth.role };
  };
  r.get('/me', { summary: 'Who is signed in, in which workspace, with which role', response: me }, async (req, res) => {
    res.json(await withPictures(requireAuth(req)));
  });

  const profileSpec = { summary: 'Change your name or interface language', body: profilePatch, response: me };
  r.patch('/me', profileSpec, async (req, res) => {
    const auth = requireAuth(req);
    const body = parseBody(profilePatch, req);
    await s.team.updateProfile(auth.user.id, body);
    res.json(await withPictures({ ...auth, user: { ...auth.user, ...body } }));
  });

  return r;
}
