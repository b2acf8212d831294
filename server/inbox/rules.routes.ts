import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { parseBody, idOf } from '../http/validate.ts';
import type { Services } from '../services.ts';
import { rule, ruleList } from '#contracts/inbox';
import { ruleInput, rulePatch } from './rules.service.ts';

/** Auto-reply rules of a mailbox (admins change them). */
export function rulesRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/inbox');
  r.get('/mailboxes/:id/rules', { summary: 'Auto-reply rules of a mailbox', response: ruleList }, async (req, res) => {
    res.json({ items: await s.rules.list(actorOf(req), idOf(req.params.id)) });
  });
  const createSpec = { summary: 'Add a rule', body: ruleInput, response: rule, status: 201 };
  r.post('/mailboxes/:id/rules', createSpec, async (req, res) => {
    const id = idOf(req.params.id);
    res.status(201).json(await s.rules.create(actorOf(req), id, parseBody(ruleInput, req)));
  });
  r.patch(
    '/mailboxes/:id/rules/:ruleId',
    { summary: 'Change a rule', body: rulePatch, response: rule },
    async (req, res) => {
      const id = idOf(req.params.id);
      const ruleId = idOf(req.params.ruleId);
      res.json(await s.rules.update(actorOf(req), id, ruleId, parseBody(rulePatch, req)));
    },
  );
  r.delete('/mailboxes/:id/rules/:ruleId', { summary: 'Delete a rule', response: 'empty' }, async (req, res) => {
    await s.rules.remove(actorOf(req), idOf(req.params.id), idOf(req.params.ruleId));
    res.status(204).end();
  });
  return r;
}
