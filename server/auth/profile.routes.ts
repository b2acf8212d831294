import { z } from 'zod';
import { ApiRouter } from '../http/routes.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { Services } from '../services.ts';
import { actorOf, requireAuth } from './auth.middleware.ts';

const avatarAnswer = z.object({ avatarUrl: z.string().nullable() });
const userIdParam = z.object({ userId: z.uuid() });

/** The signed-in user's picture, and teammates' pictures (members of the same workspace only). */
export function profileRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('');

  const uploadSpec = {
    summary: 'Set your picture (multipart/form-data `file`: PNG, JPEG or WebP, at most 2 MB)',
    response: avatarAnswer,
  };
  r.post('/auth/me/avatar', uploadSpec, async (req, res) => {
    const auth = requireAuth(req);
    if (auth.via !== 'session') throw new HttpError(403, 'session_required', 'Only a signed-in user sets a picture');
    const key = await s.pictures.receive(req, 'avatars');
    res.json({ avatarUrl: await s.profiles.setAvatar(auth.user.id, key) });
  });
  r.delete('/auth/me/avatar', { summary: 'Remove your picture', response: 'empty' }, async (req, res) => {
    const auth = requireAuth(req);
    if (auth.via !== 'session') throw new HttpError(403, 'session_required', 'Only a signed-in user sets a picture');
    await s.profiles.setAvatar(auth.user.id, null);
    res.status(204).end();
  });

  const pictureSpec = {
    summary: 'A member’s picture (404 for someone outside this workspace, or without one)',
    response: { file: 'image/*' },
  };
  r.get('/users/:userId/avatar', pictureSpec, async (req, res) => {
    const params = userIdParam.safeParse(req.params);
    if (!params.success) throw notFound('Picture');
    await s.pictures.send(res, await s.profiles.avatarKey(actorOf(req), params.data.userId));
  });

  return r;
}
