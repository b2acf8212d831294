import type { MikroORM } from '../../db/orm.ts';
import { notFound } from '../http/errors.ts';
import { imageVersion, type Pictures } from '../storage/images.ts';
import { inTenant, type Actor } from '../tenancy.ts';
import type { AccessPort } from './access.ts';

export const avatarUrl = (userId: string, key: string | null) =>
  key ? `/api/users/${userId}/avatar?v=${imageVersion(key)}` : null;

/** The app shell's picture URLs from their stored keys. */
export const pictureUrls = (userId: string, keys: { avatarKey: string | null; logoKey: string | null }) => ({
  avatarUrl: avatarUrl(userId, keys.avatarKey),
  logoUrl: keys.logoKey ? `/api/team/workspace/logo?v=${imageVersion(keys.logoKey)}` : null,
});

/** A user's picture: set and removed by the user, seen only by members of a workspace the user is in. */
export class ProfileService {
  readonly #orm: MikroORM;
  readonly #pictures: Pictures;
  readonly #access: AccessPort | undefined;

  constructor(orm: MikroORM, pictures: Pictures, access?: AccessPort) {
    this.#orm = orm;
    this.#pictures = pictures;
    this.#access = access;
  }

  /** The user's avatar and their workspace's logo, as URLs for the app shell. */
  async pictures(userId: string, tenantId: string): Promise<{ avatarUrl: string | null; logoUrl: string | null }> {
    const probe: Actor = { tenantId, userId, userName: '', role: 'member', scope: 'read' };
    return inTenant(this.#orm, probe, async ({ em }) => {
      const [row] = (await em.execute(
        `select u.avatar_key, t.logo_key from users u, tenants t where u.id = ? and t.id = ?`,
        [userId, tenantId],
      )) as { avatar_key: string | null; logo_key: string | null }[];
      return pictureUrls(userId, { avatarKey: row?.avatar_key ?? null, logoKey: row?.logo_key ?? null });
    });
  }

  /** Puts a stored image in as the user's avatar (null removes it); the previous bytes go after the change. */
  async setAvatar(userId: string, key: string | null): Promise<string | null> {
    const old = await this.#orm.em.fork().transactional(async (em) => {
      const [row] = (await em.execute(`select avatar_key from users where id = ? for update`, [userId])) as {
        avatar_key: string | null;
      }[];
      await em.execute(`update users set avatar_key = ? where id = ?`, [key, userId]);
      return row;
    });
    // A resolved session carries the picture's key (for /api/auth/me).
    this.#access?.changed({ reason: 'profile_changed', userId });
    if (old?.avatar_key && old.avatar_key !== key) await this.#pictures.remove(old.avatar_key);
    return avatarUrl(userId, key);
  }

  /** The avatar's key for a viewer of this workspace: 404 unless that user is a member of it and has one. */
  avatarKey(viewer: Actor, userId: string): Promise<string> {
    return inTenant(this.#orm, viewer, async ({ em }) => {
      const [row] = (await em.execute(
        `select u.avatar_key from memberships m join users u on u.id = m.user_id where m.tenant_id = ? and m.user_id = ?`,
        [viewer.tenantId, userId],
      )) as { avatar_key: string | null }[];
      if (!row?.avatar_key) throw notFound('Picture');
      return row.avatar_key;
    });
  }
}
