import { notificationPrefs } from '#contracts/preferences';
import { ApiRouter } from '../http/routes.ts';
import { parseBody } from '../http/validate.ts';
import { requireAuth } from '../auth/auth.middleware.ts';
import type { NotificationPrefsService } from './prefs.service.ts';

/** GET/PUT /api/auth/me/notification-prefs: the signed-in user's own notification preferences. */
export function notifyPrefsRoutes(prefs: NotificationPrefsService): ApiRouter {
  const r = new ApiRouter('/auth');
  r.get(
    '/me/notification-prefs',
    {
      summary: 'Your notification preferences (browser, email delay or daily digest, types)',
      response: notificationPrefs,
    },
    async (req, res) => {
      res.json(await prefs.get(requireAuth(req).user.id));
    },
  );
  r.put(
    '/me/notification-prefs',
    { summary: 'Replace your notification preferences', body: notificationPrefs, response: notificationPrefs },
    async (req, res) => {
      const auth = requireAuth(req);
      const body = parseBody(notificationPrefs, req);
      res.json(await prefs.put(auth.user.id, body));
    },
  );
  return r;
}
