import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { parseBody } from '../http/validate.ts';
import type { Services } from '../services.ts';
import { callInput } from '#contracts/calls';
import { activity } from '#contracts/timeline';

/** Logging a phone call on a contact or a company. */
export function callsRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/crm');
  const spec = {
    summary: 'Log a phone call on a contact or a company (a call.logged activity)',
    body: callInput,
    response: activity,
    status: 201,
  };
  r.post('/calls', spec, async (req, res) => {
    res.status(201).json(await s.calls.log(actorOf(req), parseBody(callInput, req)));
  });
  return r;
}
