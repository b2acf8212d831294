import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseQuery } from '../http/validate.ts';
import type { Services } from '../services.ts';
import { campaignReport, campaignsOverview, growthQuery, listGrowth, overviewQuery } from '#contracts/campaign-report';

/** Campaign reports, list growth and the overview of recent campaigns (every member may read them). */
export function reportRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/newsletters');
  r.get(
    '/campaigns/:id/report',
    {
      summary: 'A campaign’s report: totals and per variant, per hour, per link, the A/B decision and progress',
      response: campaignReport,
    },
    async (req, res) => {
      res.json(await s.reports.campaign(actorOf(req), idOf(req.params.id, 'Campaign')));
    },
  );
  r.get(
    '/lists/:id/growth',
    { summary: 'A list’s subscriptions and withdrawals per day', query: growthQuery, response: listGrowth },
    async (req, res) => {
      const { days } = parseQuery(growthQuery, req);
      res.json(await s.reports.growth(actorOf(req), idOf(req.params.id, 'List'), days));
    },
  );
  r.get(
    '/overview',
    {
      summary: 'The last campaigns sent, with open and click rates',
      query: overviewQuery,
      response: campaignsOverview,
    },
    async (req, res) => {
      const { limit } = parseQuery(overviewQuery, req);
      res.json(await s.reports.overview(actorOf(req), limit));
    },
  );
  return r;
}
