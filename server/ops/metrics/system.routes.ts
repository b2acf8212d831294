import { systemHealth } from '#contracts/system';
import { ApiRouter } from '../../http/routes.ts';
import { actorOf } from '../../auth/auth.middleware.ts';
import type { OperatorCheck } from '../operator.ts';
import type { FiloMetrics } from './metrics.ts';

/** The readiness checks of /readyz (server/app.ts's `Readiness`, restated here: app.ts imports these routes). */
interface Readiness {
  check(): Promise<{ ready: boolean; checks: Record<string, string> }>;
}

/** Settings > System: the readiness checks and the installation's job queues, for its operator only. */
export function systemRoutes(readiness: Readiness, metrics: FiloMetrics, operator: OperatorCheck): ApiRouter {
  const r = new ApiRouter('/system');
  r.get(
    '/health',
    {
      summary: "Database, Redis and migrations checks and job queue depths (the installation's operator)",
      response: systemHealth,
    },
    async (req, res) => {
      await operator.require(actorOf(req), 'System health and job queues');
      const [{ ready, checks }, queues] = await Promise.all([readiness.check(), metrics.queues().catch(() => [])]);
      res.json({ status: ready ? 'ready' : 'not_ready', checks, queues, checkedAt: new Date().toISOString() });
    },
  );
  return r;
}
