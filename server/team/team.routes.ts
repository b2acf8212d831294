import { z } from 'zod';
import { MEMBER_ROLES } from '../../db/entities/membership.entity.ts';
import { TOKEN_SCOPES } from '../../db/entities/api-token.entity.ts';
import { ApiRouter } from '../http/routes.ts';
import { parseBody, parseQuery } from '../http/validate.ts';
import { notFound } from '../http/errors.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';
import { searchResults } from '#contracts/crm';
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

  r.get('/team/members', async (req, res) => {
    res.json({ items: await s.team.members(actorOf(req)) });
  });
  r.patch('/team/members/:userId', async (req, res) => {
    const { role } = parseBody(z.object({ role: z.enum(MEMBER_ROLES) }).strict(), req);
    res.json(await s.team.changeRole(actorOf(req), param(userIdParam, req.params).userId, role));
  });
  r.delete('/team/members/:userId', async (req, res) => {
    await s.team.removeMember(actorOf(req), param(userIdParam, req.params).userId);
    res.status(204).end();
  });
  r.post('/team/invitations', async (req, res) => {
    const body = parseBody(
      z.object({ email: z.email().max(255), role: z.enum(MEMBER_ROLES).default('member') }).strict(),
      req,
    );
    res.status(201).json(await s.team.invite(actorOf(req), body));
  });

  r.get('/tokens', async (req, res) => {
    res.json({ items: await s.tokens.list(actorOf(req)) });
  });
  r.post('/tokens', async (req, res) => {
    const body = parseBody(
      z.object({ name: z.string().trim().min(1).max(100), scope: z.enum(TOKEN_SCOPES).default('full') }).strict(),
      req,
    );
    res.status(201).json(await s.tokens.create(actorOf(req), body));
  });
  r.delete('/tokens/:id', async (req, res) => {
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

  r.get('/notifications', async (req, res) => {
    const q = parseQuery(
      z.object({
        unread: z.enum(['true', 'false']).default('false'),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      }),
      req,
    );
    res.json(await s.notifications.list(actorOf(req), { unreadOnly: q.unread === 'true', limit: q.limit }));
  });
  r.post('/notifications/read', async (req, res) => {
    const body = parseBody(
      z
        .object({ ids: z.array(z.uuid()).max(500).optional(), all: z.literal(true).optional() })
        .strict()
        .refine((b) => b.all || b.ids?.length, 'give ids or all: true'),
      req,
    );
    res.json(await s.notifications.markRead(actorOf(req), body));
  });

  return r;
}
