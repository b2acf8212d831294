import type { MikroORM } from '../../db/orm.ts';
import { NotificationSchema, type Notification } from '../../db/entities/notification.entity.ts';
import { checkNotification, type NotificationData, type NotificationType } from '#contracts/timeline';
import type { NotificationDto, Publisher } from './publisher.ts';
import { authorOf, inTenant, type Actor, type UnitOfWork } from '../tenancy.ts';
import { truncateGraphemes } from '../text.ts';

export type NewNotification = { [T in NotificationType]: NotificationInput<T> }[NotificationType];

interface NotificationInput<T extends NotificationType> {
  type: T;
  /** English, for API readers. */
  title: string;
  /** What the web needs to say it in the reader's language. */
  data: NotificationData<T>;
  body?: string | null;
  entityType?: string | null;
  entityId?: string | null;
  noteId?: string | null;
}

/**
 * A user's notifications, less those about a conversation of a mailbox they no longer see (taken off its members,
 * demoted): `?` x4 = tenant, user, tenant, user. Their role is read by filo_visible_mailboxes: the recipient is not
 * always the actor.
 */
const MINE = `from notifications n left join users u on u.id = n.actor_id
  cross join (select filo_visible_mailboxes((select ms.user_id from memberships ms where ms.tenant_id = ?::uuid
                                              and ms.user_id = ?::uuid)) as ids) v
  where n.tenant_id = ? and n.user_id = ?
    and (n.entity_type is distinct from 'conversation' or v.ids is null
         or exists (select 1 from conversations c where c.tenant_id = n.tenant_id and c.id = n.entity_id
                      and c.mailbox_id = any(v.ids)))`;

async function unreadOf(em: UnitOfWork['em'], tenantId: string, userId: string): Promise<number> {
  const [row] = (await em.execute(`select count(*)::int as n ${MINE} and n.read_at is null`, [
    tenantId,
    userId,
    tenantId,
    userId,
  ])) as { n: number }[];
  return row?.n ?? 0;
}

// Rows are written through `create()`, whose payloads the contract checks in tests: read back, they are that type.
const map = (n: Notification, actorName: string | null): NotificationDto =>
  ({
    id: n.id,
    type: n.type,
    title: n.title,
    body: n.body ?? null,
    entityType: n.entityType ?? null,
    entityId: n.entityId ?? null,
    noteId: n.noteId ?? null,
    actor: n.actorId ? { id: n.actorId, name: actorName ?? '' } : null,
    data: n.data,
    readAt: n.readAt?.toISOString() ?? null,
    createdAt: n.createdAt.toISOString(),
  }) as NotificationDto;

/** In tests every payload is parsed with its type's contract. */
const CHECK = process.env.FILO_CHECK_RESPONSES === '1';

interface NotificationRow {
  id: string;
  type: string;
  title: string;
  body: string | null;
  entity_type: string | null;
  entity_id: string | null;
  note_id: string | null;
  actor_id: string | null;
  actor_name: string | null;
  data: Record<string, unknown> | null;
  read_at: Date | null;
  created_at: Date;
}

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
    if (CHECK) checkNotification(input.type, input.data);
    const row = em.create(NotificationSchema, {
      ...input,
      // Titles quote subjects and names of any length: the column is varchar(255).
      title: truncateGraphemes(input.title, 255),
      tenantId: actor.tenantId,
      userId,
      // A system actor (a rule, a job) is nobody: no user row to point at.
      actorId: authorOf(actor),
      readAt: null,
    });
    await em.flush();
    const unread = await unreadOf(em, actor.tenantId, userId);
    const dto = map(row, actor.userName);
    uow.afterCommit(() => this.#publisher.notification(actor.tenantId, userId, dto, unread));
    return dto;
  }

  list(actor: Actor, opts: { unreadOnly: boolean; limit: number }) {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const rows = (await em.execute(
        `select n.*, u.name as actor_name ${MINE}
          ${opts.unreadOnly ? 'and n.read_at is null' : ''}
          order by n.created_at desc limit ?`,
        [actor.tenantId, actor.userId, actor.tenantId, actor.userId, opts.limit],
      )) as NotificationRow[];
      const unread = await unreadOf(em, actor.tenantId, actor.userId);
      const items = rows.map(
        (r) =>
          ({
            id: r.id,
            type: r.type,
            title: r.title,
            body: r.body,
            entityType: r.entity_type,
            entityId: r.entity_id,
            noteId: r.note_id,
            actor: r.actor_id ? { id: r.actor_id, name: r.actor_name ?? '' } : null,
            data: r.data ?? {},
            readAt: r.read_at ? new Date(r.read_at).toISOString() : null,
            createdAt: new Date(r.created_at).toISOString(),
          }) as NotificationDto,
      );
      return { items, unread };
    });
  }

  markRead(actor: Actor, which: { ids?: string[] | undefined; all?: boolean | undefined }) {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const where = which.all
        ? { userId: actor.userId, readAt: null }
        : { userId: actor.userId, readAt: null, id: { $in: which.ids ?? [] } };
      const updated = await em.nativeUpdate(NotificationSchema, where, { readAt: new Date() });
      const unread = await unreadOf(em, actor.tenantId, actor.userId);
      return { updated, unread };
    });
  }

  /**
   * For the email of unread notices: those of `ids` the user still sees, still unread and not yet emailed, marked
   * emailed in the caller's transaction. Their rows stay locked until it ends (a read then waits for the mail to go);
   * rows another worker holds are skipped.
   */
  async claimForEmail(uow: UnitOfWork, userId: string, ids: string[], at: Date): Promise<NotificationDto[]> {
    const { em, actor } = uow;
    const claimed = (await em.execute(
      `update notifications set emailed_at = ?
        where id in (select n.id ${MINE} and n.id = any(?::uuid[]) and n.read_at is null and n.emailed_at is null
                       for update of n skip locked)
          and read_at is null and emailed_at is null
        returning *`,
      [at, actor.tenantId, userId, actor.tenantId, userId, `{${ids.join(',')}}`],
    )) as Omit<NotificationRow, 'actor_name'>[];
    const actorIds = [...new Set(claimed.map((r) => r.actor_id).filter((id): id is string => !!id))];
    const names = actorIds.length
      ? ((await em.execute(`select id, name from users where id = any(?::uuid[])`, [`{${actorIds.join(',')}}`])) as {
          id: string;
          name: string;
        }[])
      : [];
    const nameOf = new Map(names.map((n) => [n.id, n.name]));
    return claimed
      .sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime())
      .map((r) => rowToDto({ ...r, actor_name: r.actor_id ? (nameOf.get(r.actor_id) ?? null) : null }));
  }

  /** Undoes a claim made `at` whose mail could not be sent: the next pass tries those notices again. */
  async releaseEmailClaim({ em, actor }: UnitOfWork, ids: string[], at: Date): Promise<void> {
    await em.execute(
      `update notifications set emailed_at = null where tenant_id = ? and id = any(?::uuid[]) and emailed_at = ?`,
      [actor.tenantId, `{${ids.join(',')}}`, at],
    );
  }
}

/** A row of the email claim, as the bell's DTO. */
const rowToDto = (r: NotificationRow): NotificationDto =>
  ({
    id: r.id,
    type: r.type,
    title: r.title,
    body: r.body,
    entityType: r.entity_type,
    entityId: r.entity_id,
    noteId: r.note_id,
    actor: r.actor_id ? { id: r.actor_id, name: r.actor_name ?? '' } : null,
    data: r.data ?? {},
    readAt: r.read_at ? new Date(r.read_at).toISOString() : null,
    createdAt: new Date(r.created_at).toISOString(),
  }) as NotificationDto;
