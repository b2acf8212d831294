import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseBody, parseQuery } from '../http/validate.ts';
import type { Services } from '../services.ts';
import {
  campaign,
  campaignInput,
  campaignList,
  campaignListQuery,
  campaignPatch,
  campaignPreview,
  newsletterTemplateList,
  previewInput,
  scheduleInput,
  testSendInput,
  testSendResult,
} from '#contracts/campaigns';

/** Newsletter campaigns: drafts, previews, test copies, starter templates and the lifecycle commands. */
export function campaignsRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/newsletters');
  const c = s.campaigns;
  const id = (v: unknown) => idOf(v, 'Campaign');

  r.get('/templates', { summary: 'Starter templates of campaigns', response: newsletterTemplateList }, (_req, res) => {
    res.json({ items: c.templates() });
  });
  r.get(
    '/campaigns',
    { summary: 'List campaigns', query: campaignListQuery, response: campaignList },
    async (req, res) => {
      res.json(await c.list(actorOf(req), parseQuery(campaignListQuery, req)));
    },
  );
  const createSpec = { summary: 'Create a campaign (draft)', body: campaignInput, response: campaign, status: 201 };
  r.post('/campaigns', createSpec, async (req, res) => {
    res.status(201).json(await c.create(actorOf(req), parseBody(campaignInput, req)));
  });
  r.get('/campaigns/:id', { summary: 'A campaign', response: campaign }, async (req, res) => {
    res.json(await c.get(actorOf(req), id(req.params.id)));
  });
  r.patch(
    '/campaigns/:id',
    { summary: 'Edit a draft or scheduled campaign', body: campaignPatch, response: campaign },
    async (req, res) => {
      const campaignId = id(req.params.id);
      res.json(await c.update(actorOf(req), campaignId, parseBody(campaignPatch, req)));
    },
  );
  r.delete('/campaigns/:id', { summary: 'Delete a draft', response: 'empty' }, async (req, res) => {
    await c.remove(actorOf(req), id(req.params.id));
    res.status(204).end();
  });
  const duplicateSpec = { summary: 'Copy a campaign as a new draft', response: campaign, status: 201 };
  r.post('/campaigns/:id/duplicate', duplicateSpec, async (req, res) => {
    res.status(201).json(await c.duplicate(actorOf(req), id(req.params.id)));
  });
  r.post(
    '/campaigns/:id/preview',
    { summary: 'Preview a variant for a contact or sample values', body: previewInput, response: campaignPreview },
    async (req, res) => {
      const campaignId = id(req.params.id);
      res.json(await c.preview(actorOf(req), campaignId, parseBody(previewInput, req)));
    },
  );
  r.post(
    '/campaigns/:id/test',
    { summary: 'Send test copies now', body: testSendInput, response: testSendResult },
    async (req, res) => {
      const campaignId = id(req.params.id);
      res.json(await c.testSend(actorOf(req), campaignId, parseBody(testSendInput, req)));
    },
  );

  const l = s.campaignLifecycle;
  r.post(
    '/campaigns/:id/schedule',
    { summary: 'Schedule a campaign', body: scheduleInput, response: campaign },
    async (req, res) => {
      const campaignId = id(req.params.id);
      res.json(await l.schedule(actorOf(req), campaignId, new Date(parseBody(scheduleInput, req).at)));
    },
  );
  r.post('/campaigns/:id/send', { summary: 'Start sending now', response: campaign }, async (req, res) => {
    res.json(await l.send(actorOf(req), id(req.params.id)));
  });
  r.post('/campaigns/:id/pause', { summary: 'Pause sending', response: campaign }, async (req, res) => {
    res.json(await l.pause(actorOf(req), id(req.params.id)));
  });
  r.post('/campaigns/:id/resume', { summary: 'Resume sending', response: campaign }, async (req, res) => {
    res.json(await l.resume(actorOf(req), id(req.params.id)));
  });
  r.post(
    '/campaigns/:id/cancel',
    { summary: 'Cancel (a scheduled one goes back to draft)', response: campaign },
    async (req, res) => {
      res.json(await l.cancel(actorOf(req), id(req.params.id)));
    },
  );
  return r;
}
