import type { MikroORM } from '../../db/orm.ts';
import { DEFAULT_NOTIFICATION_PREFS, notificationPrefs, type NotificationPrefs } from '#contracts/preferences';
import { notFound } from '../http/errors.ts';

/** What a user's stored preferences mean: `{}` (or anything no longer valid) is the defaults. */
export function effectivePrefs(stored: unknown): NotificationPrefs {
  const parsed = notificationPrefs.safeParse(stored ?? {});
  return parsed.success ? parsed.data : DEFAULT_NOTIFICATION_PREFS;
}

/** A member's notification preferences (the users table is not tenant-owned: they hold in every workspace). */
export class NotificationPrefsService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  async get(userId: string): Promise<NotificationPrefs> {
    const [row] = (await this.#orm.em
      .getConnection()
      .execute(`select notification_prefs from users where id = ?`, [userId])) as { notification_prefs: unknown }[];
    if (!row) throw notFound('User');
    return effectivePrefs(row.notification_prefs);
  }

  /** Replaces them all (each type once, in the contract's order). */
  async put(userId: string, prefs: NotificationPrefs): Promise<NotificationPrefs> {
    const saved: NotificationPrefs = { ...prefs, emailTypes: [...new Set(prefs.emailTypes)] };
    await this.#orm.em
      .getConnection()
      .execute(`update users set notification_prefs = ?::jsonb where id = ?`, [JSON.stringify(saved), userId]);
    return saved;
  }
}
