import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { parseBody, idOf } from '../http/validate.ts';
import type { Services } from '../services.ts';
import { ruleInput, rulePatch } from './rules.service.ts';

/** Auto-reply rules of a mailbox (admins change them). */
export function rulesRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/inbox');
  r.get('/mailboxes/:id/rules', async (req, res) => {
    res.json({ items: await s.rules.list(actorOf(req), idOf(req.params.id)) });
  });
  r.post('/mailboxes/:id/rules', async (req, res) => {
    const id = idOf(req.params.id);
    res.status(201).json(await s.rules.create(actorOf(req), id, parseBody(ruleInput, req)));
  });
  r.patch('/mailboxes/:id/rules/:ruleId', async (req, res) => {
    const id = idOf(req.params.id);
    const ruleId = idOf(req.params.ruleId);
    res.json(await s.rules.update(actorOf(req), id, ruleId, parseBody(rulePatch, req)));
  });
  r.delete('/mailboxes/:id/rules/:ruleId', async (req, res) => {
    await s.rules.remove(actorOf(req), idOf(req.params.id), idOf(req.params.ruleId));
    res.status(204).end();
  });
  return r;
}
