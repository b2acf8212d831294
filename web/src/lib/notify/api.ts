import { request } from '#lib/api.ts';
import type { NotificationPrefs } from '#contracts/preferences';

const PATH = '/api/auth/me/notification-prefs';

export const notifyApi = {
  get: () => request<NotificationPrefs>(PATH),
  put: (prefs: NotificationPrefs) => request<NotificationPrefs>(PATH, { method: 'PUT', body: prefs }),
};
