import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor, UnitOfWork } from '../tenancy.ts';
import { may } from '../auth/scopes.ts';

/**
 * Restricted mailboxes: what came from a mailbox's mail (timeline entries, attachments, a conversation's notes)
 * carries its `mailbox_id`, and every read keeps to the mailboxes the reader sees. Filo itself sees every mailbox;
 * a private mailbox (a member's own account) is seen only by the members it names, owners and admins included;
 * of the others, owners and admins see all, a member those open to the whole team and those naming them.
 */

/** The user whose mailboxes limit what they read (the database knows their role), or null for Filo itself. */
export const mailboxViewer = (actor: Actor): string | null => (actor.system ? null : actor.userId);

/**
 * Ids of the mailboxes the actor sees, or null for all of them: one query, answering null at once for an owner or
 * admin of a workspace with no private mailbox they are left out of.
 */
export async function visibleMailboxes(uow: UnitOfWork): Promise<string[] | null> {
  const viewer = mailboxViewer(uow.actor);
  if (!viewer) return null;
  // An API token without an inbox grant reads no mail: not on timelines, not in full-context, not as attachments.
  if (!may(uow.actor, 'inbox', 'read')) return [];
  const [row] = (await uow.em.execute(`select filo_visible_mailboxes(?)::text[] as ids`, [viewer])) as {
    ids: string[] | null;
  }[];
  return row ? row.ids : [];
}

/** An ORM filter on an entity with `mailboxId`: rows of no mailbox, or of one the actor sees. */
export const mailboxFilter = (visible: string[] | null): Record<string, unknown> =>
  visible ? { $or: [{ mailboxId: null }, { mailboxId: { $in: visible } }] } : {};

/** Whether a row of this mailbox (null: none) is visible, given {@link visibleMailboxes}. */
export const seesMailbox = (visible: string[] | null, mailboxId: string | null | undefined): boolean =>
  !mailboxId || !visible || visible.includes(mailboxId);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const asUuid = (v: unknown): string | null => (typeof v === 'string' && UUID.test(v) ? v : null);

/**
 * The mailbox something belongs to (given, or its conversation's) and the users of the workspace who may not
 * see it: none for a mailbox open to all; everyone it does not name for a private one, owners and admins included;
 * the members it does not name otherwise; every member for a mailbox that is gone. Null when it has no mailbox.
 */
export async function mailboxAudience(
  em: EntityManager,
  tenantId: string,
  hint: { mailboxId?: string | null; conversationId?: string | null },
): Promise<{ mailboxId: string; hiddenFrom: string[] } | null> {
  if (!hint.mailboxId && !hint.conversationId) return null;
  const [row] = (await em.execute(
    `select h.id, case when m.id is not null and not m.private and cardinality(m.member_ids) = 0 then '{}'::text[]
                  else array(select ms.user_id::text from memberships ms
                              where ms.tenant_id = ? and (ms.role = 'member' or coalesce(m.private, false))
                                and (m.id is null or not (ms.user_id::text = any(m.member_ids)))) end as hidden
       from (select coalesce(?::uuid, (select c.mailbox_id from conversations c where c.id = ?::uuid)) as id) h
       left join mailboxes m on m.id = h.id
      where h.id is not null`,
    [tenantId, hint.mailboxId ?? null, hint.conversationId ?? null],
  )) as { id: string; hidden: string[] }[];
  return row ? { mailboxId: row.id, hiddenFrom: row.hidden } : null;
}
