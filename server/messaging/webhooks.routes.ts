import express, { Router } from 'express';
import { MESSAGING_PROVIDERS } from '#contracts/messaging';
import type { CredentialLimiter } from '../auth/credential-limiter.ts';
import type { RouteInfo } from '../http/routes.ts';
import type { MessagingInbound } from './inbound.service.ts';

export const MESSAGING_WEBHOOK_ROUTES: RouteInfo[] = [
  {
    method: 'post',
    path: '/api/messaging/:provider/:accountId/:hook',
    spec: {
      summary: 'A provider’s webhook (inbound messages, status callbacks): its signature is the key',
      response: { file: 'text/plain' },
      public: true,
    },
  },
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HOOK = /^[a-z][a-z-]{0,30}$/;

/**
 * Providers' webhooks, outside the session API: the signature is checked first (by the provider, over PUBLIC_URL +
 * the original path), failures count against the credential limiter, and a verified event is stored before the
 * answer. Bodies up to 1 MB, read raw (signatures cover the bytes).
 */
export function messagingWebhookRoutes(deps: {
  inbound: MessagingInbound;
  credentials: CredentialLimiter;
  publicUrl: string;
}): Router {
  const router = Router();
  router.post(
    '/api/messaging/:provider/:accountId/:hook',
    express.raw({ type: () => true, limit: '1mb' }),
    async (req, res, next) => {
      const { provider, accountId, hook } = req.params;
      if (!(MESSAGING_PROVIDERS as readonly string[]).includes(provider) || !UUID.test(accountId) || !HOOK.test(hook))
        return next();
      const account = `messaging:${accountId}`;
      try {
        deps.credentials.check(req.ip, account);
        const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const type = String(req.headers['content-type'] ?? '').toLowerCase();
        const form = type.startsWith('application/x-www-form-urlencoded')
          ? Object.fromEntries(new URLSearchParams(rawBody.toString('utf8')))
          : null;
        let json: unknown = null;
        if (type.startsWith('application/json'))
          try {
            json = JSON.parse(rawBody.toString('utf8'));
          } catch {
            json = null;
          }
        const answer = await deps.inbound.receive(provider, accountId, {
          hook,
          url: `${deps.publicUrl}${req.originalUrl}`,
          headers: req.headers,
          rawBody,
          form,
          json,
        });
        if (answer.status === 401 || answer.status === 403) {
          deps.credentials.failed(req.ip, account);
          res.status(answer.status).type('text/plain').send('Forbidden');
          return;
        }
        deps.credentials.succeeded(req.ip, account);
        res.status(answer.status);
        if (answer.contentType) res.type(answer.contentType);
        res.send(answer.body ?? '');
      } catch (err) {
        next(err);
      }
    },
  );
  return router;
}
