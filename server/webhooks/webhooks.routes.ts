import { z } from 'zod';
import {
  deliveryList,
  deliveryQuery,
  webhook,
  webhookCreate,
  webhookDelivery,
  webhookList,
  webhookUpdate,
  webhookWithSecret,
} from '#contracts/webhooks';
import { ApiRouter } from '../http/routes.ts';
import { parseBody, parseQuery } from '../http/validate.ts';
import { notFound } from '../http/errors.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';

const idParam = z.object({ id: z.uuid() });
const deliveryParam = z.object({ id: z.uuid(), deliveryId: z.uuid() });
// A malformed id names nothing: 404, as another workspace's id does.
const param = <S extends z.ZodType>(schema: S, params: unknown): z.infer<S> => {
  const r = schema.safeParse(params);
  if (!r.success) throw notFound();
  return r.data;
};

/** Settings > Webhooks: subscriptions, their secret (shown once), test pings, the delivery log and resends. */
export function webhooksRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/webhooks');
  r.get('/', { summary: "The workspace's webhooks (owners and admins)", response: webhookList }, async (req, res) => {
    res.json({ items: await s.webhooks.list(actorOf(req)) });
  });
  r.post(
    '/',
    {
      summary: 'Create a webhook: its signing secret is in this answer only',
      body: webhookCreate,
      response: webhookWithSecret,
      status: 201,
    },
    async (req, res) => {
      res.status(201).json(await s.webhooks.create(actorOf(req), parseBody(webhookCreate, req)));
    },
  );
  r.get('/:id', { summary: 'A webhook', response: webhook }, async (req, res) => {
    res.json(await s.webhooks.get(actorOf(req), param(idParam, req.params).id));
  });
  r.patch(
    '/:id',
    { summary: 'Change its URL, events, description, or turn it on or off', body: webhookUpdate, response: webhook },
    async (req, res) => {
      res.json(await s.webhooks.update(actorOf(req), param(idParam, req.params).id, parseBody(webhookUpdate, req)));
    },
  );
  r.delete('/:id', { summary: 'Delete a webhook and its delivery log', response: 'empty' }, async (req, res) => {
    await s.webhooks.remove(actorOf(req), param(idParam, req.params).id);
    res.status(204).end();
  });
  r.post(
    '/:id/secret',
    { summary: 'Rotate the signing secret: the new one is in this answer only', response: webhookWithSecret },
    async (req, res) => {
      res.json(await s.webhooks.rotateSecret(actorOf(req), param(idParam, req.params).id));
    },
  );
  r.post(
    '/:id/ping',
    { summary: 'Send a signed test event now; the answer is its delivery', response: webhookDelivery },
    async (req, res) => {
      res.json(await s.webhooks.ping(actorOf(req), param(idParam, req.params).id));
    },
  );
  r.get(
    '/:id/deliveries',
    { summary: 'The delivery log, newest first', query: deliveryQuery, response: deliveryList },
    async (req, res) => {
      const q = parseQuery(deliveryQuery, req);
      res.json({ items: await s.webhooks.deliveries(actorOf(req), param(idParam, req.params).id, q.limit) });
    },
  );
  r.post(
    '/:id/deliveries/:deliveryId/resend',
    { summary: 'Send a delivery again (same body, new signature)', response: webhookDelivery },
    async (req, res) => {
      const p = param(deliveryParam, req.params);
      res.json(await s.webhooks.resend(actorOf(req), p.id, p.deliveryId));
    },
  );
  return r;
}
