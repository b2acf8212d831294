import { z } from 'zod';
import { reputationList } from '#contracts/sequences';
import { actorOf } from '../../auth/auth.middleware.ts';
import { HttpError, notFound } from '../../http/errors.ts';
import { ApiRouter } from '../../http/routes.ts';
import type { Services } from '../../services.ts';

/** A domain name as a path segment: letters, digits, hyphens and dots, at most 253 characters. */
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Sending domains' reputation for sequences, mounted on `/api/sequences/reputation` before the sequences router
 * (whose `/:id` would take "reputation" for an id).
 */
export function sequenceReputationRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/sequences/reputation');
  r.get(
    '/',
    { summary: "Each sending domain's bounce, complaint and reply rates over 7 and 30 days", response: reputationList },
    async (req, res) => {
      res.json({ items: await s.sequenceReputation.listFor(actorOf(req)) });
    },
  );
  r.post(
    '/:domain/resume',
    {
      summary: 'Resume sequence sending from a paused domain (owners and admins)',
      response: z.object({ domain: z.string(), resumed: z.literal(true) }),
    },
    async (req, res) => {
      const domain = String(req.params.domain ?? '').toLowerCase();
      if (!DOMAIN.test(domain)) throw new HttpError(400, 'invalid_domain', 'Not a domain name');
      const resumed = await s.sequenceReputation.resumeBy(actorOf(req), domain);
      if (!resumed) throw notFound('Paused domain');
      res.json({ domain, resumed: true });
    },
  );
  return r;
}
