import { z } from 'zod';
import {
  apiTokenInput,
  apiTokenList,
  apiTokenPatch,
  apiToken,
  invitation,
  invitationInput,
  member,
  memberList,
  newApiToken,
  roleChange,
} from '#contracts/team';
import { ApiRouter } from '../http/routes.ts';
import { parseBody, parseQuery } from '../http/validate.ts';
import { notFound } from '../http/errors.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';
import { searchResults } from '#contracts/crm';
import { notificationList, notificationsRead } from '#contracts/timeline';
import { searchQuery } from '../crm/search.service.ts';

const userIdParam = z.object({ userId: z.uuid() });
const idParam = z.object({ id: z.uuid() });
const param = <S extends z.ZodType>(schema: S, params: unknown): z.infer<S> => {
  const r = schema.safeParse(params);
  if (!r.success) throw notFound();
  return r.data;
};

export function teamRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('');

  r.get('/team/members', { summary: 'Members of the workspace', response: memberList }, async (req, res) => {
    res.json({ items: await s.team.members(actorOf(req)) });
  });
  const roleSpec = {
    summary: 'Change a member’s role (admins; only an owner grants or takes away ownership)',
    body: roleChange,
    response: member,
  };
  r.patch('/team/members/:userId', roleSpec, async (req, res) => {
    const { role } = parseBody(roleChange, req);
    res.json(await s.team.changeRole(actorOf(req), param(userIdParam, req.params).userId, role));
  });
  const removeSpec = {
    summary: 'Remove a member (admins) or leave the workspace (yourself): their sessions end',
    response: 'empty',
  } as const;
  r.delete('/team/members/:userId', removeSpec, async (req, res) => {
    await s.team.removeMember(actorOf(req), param(userIdParam, req.params).userId);
    res.status(204).end();
  });
  const inviteSpec = {
    summary: 'Invite someone by email (admins): the link is mailed, and shown once',
    body: invitationInput,
    response: invitation,
    status: 201,
  };
  r.post('/team/invitations', inviteSpec, async (req, res) => {
    const body = parseBody(invitationInput, req);
    res.status(201).json(await s.team.invite(actorOf(req), body));
  });

  const tokensSpec = {
    summary: 'API tokens: all of the workspace for admins, your own for members',
    response: apiTokenList,
  };
  r.get('/tokens', tokensSpec, async (req, res) => {
    res.json({ items: await s.tokens.list(actorOf(req)) });
  });
  const newTokenSpec = {
    summary: 'Create an API token: the token is in this answer only',
    body: apiTokenInput,
    response: newApiToken,
    status: 201,
  };
  r.post('/tokens', newTokenSpec, async (req, res) => {
    const body = parseBody(apiTokenInput, req);
    res.status(201).json(await s.tokens.create(actorOf(req), body));
  });
  const tokenPatchSpec = {
    summary: 'Rename an API token or change its grants, expiry or rate limit (the next request is judged by them)',
    body: apiTokenPatch,
    response: apiToken,
  };
  r.patch('/tokens/:id', tokenPatchSpec, async (req, res) => {
    const { id } = param(idParam, req.params);
    res.json(await s.tokens.update(actorOf(req), id, parseBody(apiTokenPatch, req)));
  });
  r.delete('/tokens/:id', { summary: 'Revoke an API token', response: 'empty' }, async (req, res) => {
    await s.tokens.revoke(actorOf(req), param(idParam, req.params).id);
    res.status(204).end();
  });

  r.get(
    '/search',
    {
      summary: 'Search companies, contacts, deals and notes by word prefixes (typos by similarity)',
      query: searchQuery,
      response: searchResults,
    },
    async (req, res) => {
      const q = parseQuery(searchQuery, req);
      res.json({ items: await s.search.search(actorOf(req), q.q, q.limit) });
    },
  );

  const notificationsQuery = z.object({
    unread: z.enum(['true', 'false']).default('false'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  });
  r.get(
    '/notifications',
    {
      summary: 'Your notifications, newest first, with the unread count',
      query: notificationsQuery,
      response: notificationList,
    },
    async (req, res) => {
      const q = parseQuery(notificationsQuery, req);
      res.json(await s.notifications.list(actorOf(req), { unreadOnly: q.unread === 'true', limit: q.limit }));
    },
  );
  const readBody = z
    .object({ ids: z.array(z.uuid()).max(500).optional(), all: z.literal(true).optional() })
    .strict()
    .refine((b) => b.all || b.ids?.length, 'give ids or all: true');
  r.post(
    '/notifications/read',
    { summary: 'Mark notifications read: some by id, or all', body: readBody, response: notificationsRead },
    async (req, res) => {
      res.json(await s.notifications.markRead(actorOf(req), parseBody(readBody, req)));
    },
  );

  return r;
}
