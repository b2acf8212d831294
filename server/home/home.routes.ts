import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { parseQuery } from '../http/validate.ts';
import type { Services } from '../services.ts';
import { recordNames, recordNamesQuery } from '#contracts/home';

/** The Home page's own reads (the rest comes from the tasks, meetings, inbox and notification APIs). */
export function homeRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/home');
  const spec = {
    summary: 'The current names of companies, contacts and deals, for a feed that names the record of each entry',
    query: recordNamesQuery,
    response: recordNames,
  };
  r.get('/record-names', spec, async (req, res) => {
    const q = parseQuery(recordNamesQuery, req);
    res.json({ items: await s.home.recordNames(actorOf(req), q) });
  });
  return r;
}
