import { ConversationSchema, type Conversation } from '../../../db/entities/conversation.entity.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import { xactLock } from './batch-keys.ts';
import { toPgArray } from './pg-array.ts';

export { toPgArray } from './pg-array.ts';

export const SUBJECT_THREAD_DAYS = 30;

export interface ThreadKey {
  mailboxId: string;
  inReplyTo: string | null;
  references: string[];
  normalizedSubject: string;
  participants: string[];
  /** The From address (lower-cased); header threading needs the referenced message to have been to or from it. */
  sender: string | null;
  /** Addresses the message reached us at (the envelope recipients): ours, never a participant in common. */
  ownAddresses: string[];
}

export interface ThreadMatch {
  /** The conversation the message continues; null starts a new one. */
  conversation: Conversation | null;
  /** A conversation it referenced or shared its subject with, but with nobody in common: "possibly related". */
  related: string | null;
}

/**
 * The conversation an incoming message belongs to. By headers: the one holding a message it replies to or
 * references (in this mailbox) that was sent to or by the new sender. Else by subject: a recent one (30 days) with
 * the same normalized subject and an external participant in common (never our own addresses, our domain or the
 * team's). A reference or subject match that fails those checks gives a new conversation, linked as possibly related.
 */
export async function findThread(uow: UnitOfWork, key: ThreadKey): Promise<ThreadMatch> {
  const { em } = uow;
  // Messages of one new thread processed at once must land in one conversation: same mailbox and subject wait.
  await xactLock(uow, `thread:${key.mailboxId}:${key.normalizedSubject}`);
  let related: string | null = null;
  const ids = [...new Set([key.inReplyTo, ...key.references].filter((v): v is string => Boolean(v)))].slice(-100);
  if (ids.length) {
    const rows = (await em.execute(
      `select conversation_id,
              (lower(coalesce(from_address, '')) = ?
                or exists (select 1 from jsonb_array_elements(coalesce(email->'to', '[]'::jsonb) || coalesce(email->'cc', '[]'::jsonb)) e
                            where lower(e->>'address') = ?)) as known
         from messages
        where tenant_id = ? and mailbox_id = ? and message_id_header = any(?::text[])
        order by created_at desc limit 100`,
      [key.sender ?? '', key.sender ?? '', uow.actor.tenantId, key.mailboxId, toPgArray(ids)],
    )) as { conversation_id: string; known: boolean }[];
    const known = key.sender ? rows.find((r) => r.known) : undefined;
    if (known)
      return { conversation: await em.findOne(ConversationSchema, { id: known.conversation_id }), related: null };
    related = rows[0]?.conversation_id ?? null;
  }
  const external = await externalParticipants(uow, key);
  if (!key.normalizedSubject) return { conversation: null, related };
  const rows = (await em.execute(
    `select id, participants && ?::text[] as shared from conversations
      where tenant_id = ? and mailbox_id = ? and normalized_subject = ?
        and last_message_at > now() - make_interval(days => ?)
      order by (participants && ?::text[]) desc, last_message_at desc limit 1`,
    [
      toPgArray(external),
      uow.actor.tenantId,
      key.mailboxId,
      key.normalizedSubject,
      SUBJECT_THREAD_DAYS,
      toPgArray(external),
    ],
  )) as { id: string; shared: boolean }[];
  const row = rows[0];
  if (row?.shared && external.length)
    return { conversation: await em.findOne(ConversationSchema, { id: row.id }), related: null };
  return { conversation: null, related: related ?? row?.id ?? null };
}

/** The message's participants that are not us: not where it reached us, not a mailbox's address, not a teammate. */
async function externalParticipants(uow: UnitOfWork, key: ThreadKey): Promise<string[]> {
  const own = key.ownAddresses.map((a) => a.toLowerCase());
  const ownDomains = new Set(own.map((a) => a.slice(a.lastIndexOf('@') + 1)).filter(Boolean));
  const rows = (await uow.em.execute(
    `select lower(address) as address from mailboxes where tenant_id = ? and address is not null
     union select lower(u.email) from memberships m join users u on u.id = m.user_id where m.tenant_id = ?`,
    [uow.actor.tenantId, uow.actor.tenantId],
  )) as { address: string }[];
  const ours = new Set([...own, ...rows.map((r) => r.address)]);
  return key.participants.filter((a) => !ours.has(a) && !ownDomains.has(a.slice(a.lastIndexOf('@') + 1)));
}
