import { messagingBot, messagingBotInput } from '#contracts/messaging-bot';
import { actorOf } from '../../auth/auth.middleware.ts';
import { ApiRouter } from '../../http/routes.ts';
import { idOf, parseBody } from '../../http/validate.ts';
import type { MessagingBotService } from './bot.service.ts';

/** A messaging account's chatbot rules (issue 19). */
export function messagingBotRoutes(s: { messagingBot: MessagingBotService }): ApiRouter {
  const r = new ApiRouter('/messaging');
  r.get(
    '/accounts/:id/bot',
    { summary: "A messaging account's chatbot rules", response: messagingBot },
    async (req, res) => {
      res.json(await s.messagingBot.get(actorOf(req), idOf(req.params.id)));
    },
  );
  r.put(
    '/accounts/:id/bot',
    { summary: "Set a messaging account's chatbot rules", body: messagingBotInput, response: messagingBot },
    async (req, res) => {
      res.json(await s.messagingBot.put(actorOf(req), idOf(req.params.id), parseBody(messagingBotInput, req)));
    },
  );
  return r;
}
