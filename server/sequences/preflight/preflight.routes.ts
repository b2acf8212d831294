import { preflight } from '#contracts/sequences';
import { actorOf } from '../../auth/auth.middleware.ts';
import { ApiRouter } from '../../http/routes.ts';
import { RateLimiter } from '../../http/rate-limit.ts';
import { idOf } from '../../http/validate.ts';
import type { Services } from '../../services.ts';

/** Preflights a member may ask for per minute: each one looks up DNS and scores every step. */
export const PREFLIGHT_LIMIT = { attempts: 20, windowMs: 60_000 };

/** GET /api/sequences/:id/preflight (mounted before the sequences' own `/:id` routes). */
export function preflightRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/sequences');
  const limit = new RateLimiter(PREFLIGHT_LIMIT.attempts, PREFLIGHT_LIMIT.windowMs);
  r.get(
    '/:id/preflight',
    {
      summary: 'Deliverability before launch: SPF, DKIM and DMARC of each sending domain, each email step’s spam score',
      response: preflight,
    },
    async (req, res) => {
      const actor = actorOf(req);
      const id = idOf(req.params.id, 'Sequence');
      limit.hit(`${actor.tenantId}:${actor.userId}`);
      res.json(await s.sequencePreflight.run(actor, id));
    },
  );
  return r;
}
