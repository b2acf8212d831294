import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { CredentialLimiter } from '../auth/credential-limiter.ts';
import type { RouteInfo } from '../http/routes.ts';
import { HttpError } from '../http/errors.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import type { PublicPagesService } from './public.service.ts';
import { textFor, type PublicText } from './public.text.ts';
import {
  checkInboxPage,
  confirmPage,
  messagePage,
  PAGE_CSP,
  subscribePage,
  unsubscribePage,
  type FormState,
} from './public.pages.ts';

/** Sign-ups through the public forms per client address (any list) per window. */
export const SUBSCRIBE_LIMIT = { attempts: 10, windowMs: 10 * 60_000 };

/** Public pages, outside /api and without a session (the token or the list's open form is the key). */
export const PUBLIC_PAGE_ROUTES: RouteInfo[] = [
  {
    method: 'get',
    path: '/u/:token',
    spec: {
      summary: 'Unsubscribe page of a bulk message and the preference center (changes nothing)',
      response: { file: 'text/html' },
      public: true,
    },
  },
  {
    method: 'post',
    path: '/u/:token',
    spec: {
      summary: 'One-click unsubscribe (RFC 8058: body List-Unsubscribe=One-Click): 200, never a redirect',
      response: { file: 'text/html' },
      public: true,
    },
  },
  {
    method: 'post',
    path: '/u/:token/preferences',
    spec: {
      summary: 'Save the preference center (form: list=<id>..., all=1)',
      response: { file: 'text/html' },
      public: true,
    },
  },
  {
    method: 'get',
    path: '/s/:listId',
    spec: {
      summary: "A list's public subscription form (404 unless it is on)",
      response: { file: 'text/html' },
      public: true,
    },
  },
  {
    method: 'post',
    path: '/s/:listId',
    spec: {
      summary: 'Subscribe through the form: the same answer for every address; double opt-in mails a link',
      response: { file: 'text/html' },
      public: true,
    },
  },
  {
    method: 'get',
    path: '/s/confirm/:token',
    spec: {
      summary: 'Confirmation page of a double opt-in link (confirms nothing)',
      response: { file: 'text/html' },
      public: true,
    },
  },
  {
    method: 'post',
    path: '/s/confirm/:token',
    spec: { summary: 'Confirm a subscription (once, within 48 hours)', response: { file: 'text/html' }, public: true },
  },
];

const signUp = z.object({
  email: z.string().trim().max(254).pipe(z.email()),
  firstName: z.string().trim().max(100).default(''),
  lastName: z.string().trim().max(100).default(''),
  consent: z.literal('yes'),
  consentHash: z.string().regex(/^[0-9a-f]{64}$/),
  website: z.string().max(500).optional(),
});

const evidenceOf = (req: Request) => ({
  ip: req.ip?.slice(0, 64) ?? null,
  userAgent: req.get('user-agent')?.slice(0, 500) ?? null,
});
const param = (req: Request, name: string) => one((req.params as Record<string, unknown>)[name]);
const one = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '');

function send(res: Response, status: number, html: string, code?: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Robots-Tag', 'noindex');
  if (code) res.setHeader('X-Error-Code', code);
  res.status(status).type('html').send(html);
}

// RFC 8058 shows the body as multipart/form-data; clients also send it form-encoded: both are read, raw and small.
const oneClickRaw = express.raw({ type: () => true, limit: '8kb' });
const MULTIPART_ONE_CLICK = /name="?List-Unsubscribe"?[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/i;

/** Whether a one-click POST carries `List-Unsubscribe=One-Click` (and whether the page's own button sent it). */
function oneClickBody(req: Request): { ok: boolean; fromPage: boolean } {
  const text = Buffer.isBuffer(req.body) ? req.body.toString('latin1') : '';
  if (/^multipart\/form-data/i.test(req.get('content-type') ?? ''))
    return { ok: MULTIPART_ONE_CLICK.test(text), fromPage: false };
  const params = new URLSearchParams(text);
  return { ok: params.get('List-Unsubscribe') === 'One-Click', fromPage: params.get('from') === 'page' };
}

export function publicPageRoutes(pages: PublicPagesService, limiter: CredentialLimiter): Router {
  const r = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 200 });
  const subscribeLimit = new RateLimiter(SUBSCRIBE_LIMIT.attempts, SUBSCRIBE_LIMIT.windowMs);

  /** A page handler: 429 and 404 as pages, in the reader's language. */
  const page =
    (fn: (req: Request, res: Response, t: PublicText) => Promise<void>) => async (req: Request, res: Response) => {
      const t = textFor(req.get('accept-language'));
      try {
        await fn(req, res, t);
      } catch (err) {
        if (!(err instanceof HttpError) || err.status !== 429) throw err;
        const retryAfter = (err as { retryAfter?: number }).retryAfter ?? 60;
        res.setHeader('Retry-After', String(retryAfter));
        send(res, 429, messagePage(t, t.tooManyTitle, t.tooManyBody(retryAfter)), err.code);
      }
    };
  /** Every token check goes through the credential limiter by client address; a miss counts as a failure. */
  async function checked<T>(req: Request, check: () => Promise<T | null>): Promise<T | null> {
    limiter.check(req.ip);
    const found = await check();
    if (found === null) limiter.failed(req.ip);
    return found;
  }
  const notFound = (res: Response, t: PublicText) =>
    send(res, 404, messagePage(t, t.notFoundTitle, t.notFoundBody), 'not_found');

  r.get(
    '/u/:token',
    page(async (req, res, t) => {
      const view = await checked(req, () => pages.unsubscribeView(param(req, 'token')));
      if (!view) return notFound(res, t);
      send(res, 200, unsubscribePage(t, view, param(req, 'token').toLowerCase(), 'ask'));
    }),
  );
  // RFC 8058: mail clients post with no cookie and follow no redirect; the page's own button posts the same body.
  r.post(
    '/u/:token',
    oneClickRaw,
    page(async (req, res, t) => {
      const body = oneClickBody(req);
      if (!body.ok)
        return send(res, 400, messagePage(t, t.badRequestTitle, 'List-Unsubscribe=One-Click'), 'one_click_body');
      // The page's own button says so; a mail client's POST gets the short answer (less work, the same effect).
      const fromPage = body.fromPage;
      const done = await checked(req, () => pages.oneClick(param(req, 'token'), evidenceOf(req), fromPage));
      if (!done) return notFound(res, t);
      if (!done.view) return send(res, 200, messagePage(t, t.unsubscribedTitle, t.unsubscribedShort));
      send(res, 200, unsubscribePage(t, done.view, param(req, 'token').toLowerCase(), 'unsubscribed'));
    }),
  );
  r.post(
    '/u/:token/preferences',
    form,
    page(async (req, res, t) => {
      const raw: unknown = req.body?.list;
      const listIds = (Array.isArray(raw) ? raw : [raw])
        .filter((v): v is string => typeof v === 'string')
        .slice(0, 200);
      const all = one(req.body?.all) === '1';
      const view = await checked(req, () =>
        pages.savePreferences(param(req, 'token'), { listIds, all }, evidenceOf(req)),
      );
      if (!view) return notFound(res, t);
      send(res, 200, unsubscribePage(t, view, param(req, 'token').toLowerCase(), 'saved'));
    }),
  );

  r.get(
    '/s/confirm/:token',
    page(async (req, res, t) => {
      const view = await checked(req, () => pages.confirmation(param(req, 'token')));
      if (!view) return notFound(res, t);
      send(res, 200, confirmPage(t, view, param(req, 'token'), false));
    }),
  );
  r.post(
    '/s/confirm/:token',
    form,
    page(async (req, res, t) => {
      const view = await checked(req, () => pages.confirm(param(req, 'token'), evidenceOf(req)));
      if (!view) return notFound(res, t);
      send(res, 200, confirmPage(t, view, param(req, 'token'), true));
    }),
  );

  const formMissing = (res: Response, t: PublicText) =>
    send(res, 404, messagePage(t, t.formNotFoundTitle, t.notFoundBody), 'not_found');
  r.get(
    '/s/:listId',
    page(async (req, res, t) => {
      const view = await pages.form(param(req, 'listId'));
      if (!view) return formMissing(res, t);
      send(res, 200, subscribePage(t, view));
    }),
  );
  r.post(
    '/s/:listId',
    form,
    page(async (req, res, t) => {
      subscribeLimit.hit(`ip:${req.ip ?? 'unknown'}`);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const parsed = signUp.safeParse(Object.fromEntries(Object.entries(body).map(([k, v]) => [k, one(v)])));
      const values = { email: one(body.email), firstName: one(body.firstName), lastName: one(body.lastName) };
      if (!parsed.success) {
        const view = await pages.form(param(req, 'listId'));
        if (!view) return formMissing(res, t);
        const bad = new Set(parsed.error.issues.map((i) => String(i.path[0])));
        const errors: FormState['errors'] = { email: bad.has('email'), consent: bad.has('consent') };
        if (bad.has('consentHash')) errors.textChanged = true;
        return send(res, 400, subscribePage(t, view, { values, errors }), 'invalid_signup');
      }
      // A bot filled the hidden field: the usual answer, nothing kept and nothing sent.
      if (parsed.data.website) {
        const view = await pages.form(param(req, 'listId'));
        if (!view) return formMissing(res, t);
        return send(res, 200, checkInboxPage(t, view.workspace));
      }
      const out = await pages.subscribe(param(req, 'listId'), parsed.data, evidenceOf(req), t);
      if (!out) return formMissing(res, t);
      if (out.result === 'text_changed')
        return send(
          res,
          409,
          subscribePage(t, out.view, { values, errors: { textChanged: true } }),
          'consent_text_changed',
        );
      send(res, 200, checkInboxPage(t, out.view.workspace));
    }),
  );
  return r;
}
