import type { MikroORM } from '../../db/orm.ts';
import { NotificationSchema, type Notification } from '../../db/entities/notification.entity.ts';
import type { NotificationDto, Publisher } from '../events.ts';
import { authorOf, inTenant, type Actor, type UnitOfWork } from '../tenancy.ts';

export interface NewNotification {
  type: string;
  title: string;
  body?: string | null;
  entityType?: string | null;
  entityId?: string | null;
  noteId?: string | null;
}

const map = (n: Notification, actorName: string | null): NotificationDto => ({
  id: n.id,
  type: n.type,
  title: n.title,
  body: n.body ?? null,
  entityType: n.entityType ?? null,
  entityId: n.entityId ?? null,
  noteId: n.noteId ?? null,
  actor: n.actorId ? { id: n.actorId, name: actorName ?? '' } : null,
  readAt: n.readAt ?? null,
  createdAt: n.createdAt,
});

export class NotificationsService {
  readonly #orm: MikroORM;
  readonly #publisher: Publisher;

  constructor(orm: MikroORM, publisher: Publisher) {
    this.#orm = orm;
    this.#publisher = publisher;
  }

  /** Inside the caller's transaction; the recipient hears of it after commit, with their unread count. */
  async create(uow: UnitOfWork, userId: string, input: NewNotification): Promise<NotificationDto> {
    const { em, actor } = uow;
    const row = em.create(NotificationSchema, {
      ...input,
      tenantId: actor.tenantId,
      userId,
      // A system actor (a rule, a job) is nobody: no user row to point at.
      actorId: authorOf(actor),
      readAt: null,
    });
    await em.flush();
    const unread = await em.count(NotificationSchema, { userId, readAt: null });
    const dto = map(row, actor.userName);
    uow.afterCommit(() => this.#publisher.notification(actor.tenantId, userId, dto, unread));
    return dto;
  }

  list(actor: Actor, opts: { unreadOnly: boolean; limit: number }) {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const rows = (await em.execute(
        `select n.*, u.name as actor_name from notifications n left join users u on u.id = n.actor_id
          where n.tenant_id = ? and n.user_id = ? ${opts.unreadOnly ? 'and n.read_at is null' : ''}
          order by n.created_at desc limit ?`,
        [actor.tenantId, actor.userId, opts.limit],
      )) as Record<string, never>[];
      const unread = await em.count(NotificationSchema, { userId: actor.userId, readAt: null });
      const items = rows.map((r) => ({
        id: r.id,
        type: r.type,
        title: r.title,
        body: r.body,
        entityType: r.entity_type,
        entityId: r.entity_id,
        noteId: r.note_id,
        actor: r.actor_id ? { id: r.actor_id, name: r.actor_name } : null,
        readAt: r.read_at,
        createdAt: r.created_at,
      }));
      return { items, unread };
    });
  }

  markRead(actor: Actor, which: { ids?: string[] | undefined; all?: boolean | undefined }) {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const where = which.all
        ? { userId: actor.userId, readAt: null }
        : { userId: actor.userId, readAt: null, id: { $in: which.ids ?? [] } };
      const updated = await em.nativeUpdate(NotificationSchema, where, { readAt: new Date() });
      const unread = await em.count(NotificationSchema, { userId: actor.userId, readAt: null });
      return { updated, unread };
    });
  }
}
