import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseBody } from '../http/validate.ts';
import type { Services } from '../services.ts';
import { blocklistEntry, blocklistList } from '#contracts/inbox';
import { blocklistInput } from './blocklist.service.ts';

/** The workspace's mail blocklist (members read it, owners and admins change it). */
export function blocklistRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/inbox');
  r.get('/blocklist', { summary: 'Blocked addresses and domains', response: blocklistList }, async (req, res) => {
    res.json({ items: await s.blocklist.list(actorOf(req)) });
  });
  const addSpec = {
    summary: 'Block an address or domain',
    body: blocklistInput,
    response: blocklistEntry,
    status: 201,
  };
  r.post('/blocklist', addSpec, async (req, res) => {
    res.status(201).json(await s.blocklist.add(actorOf(req), parseBody(blocklistInput, req)));
  });
  r.delete('/blocklist/:id', { summary: 'Unblock an address or domain', response: 'empty' }, async (req, res) => {
    await s.blocklist.remove(actorOf(req), idOf(req.params.id));
    res.status(204).end();
  });
  return r;
}
