import { z } from 'zod';
import { bulkMessage, bulkMessageInput, bulkMessageList } from '#contracts/message-bulks';
import { actorOf } from '../../auth/auth.middleware.ts';
import { ApiRouter } from '../../http/routes.ts';
import { idOf, parseBody } from '../../http/validate.ts';
import type { BulkMessagesService } from './bulk-messages.service.ts';

const started = bulkMessage.extend({ unreachable: z.number() });

/** Bulk messages (issue 19): drafts, start, cancel and the live report (polled by the page while sending). */
export function bulkMessagesRoutes(s: { bulkMessages: BulkMessagesService }): ApiRouter {
  const r = new ApiRouter('/messaging');
  r.get('/bulks', { summary: 'Bulk messages', response: bulkMessageList }, async (req, res) => {
    res.json({ items: await s.bulkMessages.list(actorOf(req)) });
  });
  r.post(
    '/bulks',
    { summary: 'A bulk message draft', body: bulkMessageInput, response: bulkMessage, status: 201 },
    async (req, res) => {
      res.status(201).json(await s.bulkMessages.create(actorOf(req), parseBody(bulkMessageInput, req)));
    },
  );
  r.get('/bulks/:id', { summary: 'A bulk message and its report', response: bulkMessage }, async (req, res) => {
    res.json(await s.bulkMessages.get(actorOf(req), idOf(req.params.id)));
  });
  r.post(
    '/bulks/:id/start',
    { summary: 'Start sending a bulk message (its recipients frozen now)', response: started },
    async (req, res) => {
      res.json(await s.bulkMessages.start(actorOf(req), idOf(req.params.id)));
    },
  );
  r.post('/bulks/:id/cancel', { summary: 'Cancel a bulk message', response: bulkMessage }, async (req, res) => {
    res.json(await s.bulkMessages.cancel(actorOf(req), idOf(req.params.id)));
  });
  return r;
}
