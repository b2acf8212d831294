import { Router, type Request } from 'express';
import type { CredentialLimiter } from '../../auth/credential-limiter.ts';
import type { RouteInfo } from '../../http/routes.ts';
import { leavingPage, NOT_FOUND_PAGE, PIXEL_GIF } from '../tracking-rules.ts';
import type { BulkTracking } from './tracking.ts';

/** Public routes of bulk mail's opens and clicks, outside /api and without a session: the signed token is the key. */
export const BULK_TRACKING_ROUTES: RouteInfo[] = [
  {
    method: 'get',
    path: '/t/b/:token.gif',
    spec: {
      summary: 'Open pixel of bulk mail: always a 1x1 GIF, no-store; a valid token records a person’s first open',
      response: { file: 'image/gif' },
      public: true,
    },
  },
  {
    method: 'get',
    path: '/t/b/:token',
    spec: {
      summary:
        'Tracked link of bulk mail: 302 to the link the message had (a page showing it when outside the verified domains); a 404 page for an invalid token',
      response: 'empty',
      status: 302,
      public: true,
    },
  },
];

const userAgentOf = (req: Request) => req.get('user-agent') ?? undefined;

/**
 * A forged token counts as a failed credential for its address (the limiter shared with sign-in); an address over
 * its budget still gets the pixel, or a 429 page for a link, and nothing is looked up.
 */
export function bulkTrackingRoutes(tracking: BulkTracking, limiter: CredentialLimiter): Router {
  const r = Router();
  const admitted = (req: Request, kind: 'open' | 'click') => {
    if (!limiter.allows(req.ip)) return false;
    if (tracking.verifies(req.params.token as string, kind)) return true;
    limiter.failed(req.ip);
    return false;
  };
  // Always the same pixel, whatever the token: nothing tells a forged token from a real one.
  r.get('/t/b/:token.gif', async (req, res) => {
    // HEAD (a scanner checking the address) is not a load.
    if (req.method === 'GET' && admitted(req, 'open'))
      await tracking.safely(
        'an open',
        () => tracking.open(req.params.token, { userAgent: userAgentOf(req) }),
        undefined,
      );
    res.setHeader('Cache-Control', 'no-store, max-age=0');
    res.setHeader('Content-Type', 'image/gif');
    res.setHeader('Content-Length', String(PIXEL_GIF.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : PIXEL_GIF);
  });
  r.get('/t/b/:token', async (req, res) => {
    const load = { userAgent: userAgentOf(req) };
    const token = req.params.token;
    res.setHeader('Cache-Control', 'no-store, max-age=0');
    if (!admitted(req, 'click')) {
      res
        .status(limiter.allows(req.ip) ? 404 : 429)
        .type('html')
        .send(NOT_FOUND_PAGE);
      return;
    }
    const target =
      req.method === 'HEAD'
        ? await tracking.safely('a link', () => tracking.target(token), null)
        : ((await tracking.safely('a click', () => tracking.click(token, load), null)) ??
          (await tracking.safely('a link', () => tracking.target(token), null)));
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!target || !/^https?:\/\//i.test(target.url)) {
      res.status(404).type('html').send(NOT_FOUND_PAGE);
      return;
    }
    if (target.direct) res.redirect(302, target.url);
    else res.status(200).type('html').send(leavingPage(target.url));
  });
  return r;
}
