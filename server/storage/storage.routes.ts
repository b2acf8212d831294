import { storageUsage } from '#contracts/team';
import { ApiRouter } from '../http/routes.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';

export function storageRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/storage');
  // How much of its quota the workspace uses (Settings shows it).
  r.get(
    '/usage',
    { summary: 'Storage the workspace uses, and its quota', response: storageUsage },
    async (req, res) => {
      res.json(await s.quota.usage(actorOf(req)));
    },
  );
  return r;
}
