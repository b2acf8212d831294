import { ConversationSchema, type Conversation } from '../db/entities/conversation.entity.ts';
import type { UnitOfWork } from '../server/tenancy.ts';

export const SUBJECT_THREAD_DAYS = 30;

export interface ThreadKey {
  mailboxId: string;
  inReplyTo: string | null;
  references: string[];
  normalizedSubject: string;
  participants: string[];
}

/**
 * The conversation an incoming message belongs to: the one holding any message it replies to or references
 * (in this mailbox), else a recent one (30 days) with the same normalized subject and a participant in common.
 * Null means it starts a new conversation.
 */
export async function findThread(uow: UnitOfWork, key: ThreadKey): Promise<Conversation | null> {
  const { em } = uow;
  // Messages of one new thread processed at once must land in one conversation: same mailbox and subject wait.
  await em.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`thread:${key.mailboxId}:${key.normalizedSubject}`]);
  const ids = [...new Set([key.inReplyTo, ...key.references].filter((v): v is string => Boolean(v)))].slice(-100);
  if (ids.length) {
    const rows = (await em.execute(
      `select conversation_id from email_messages
        where tenant_id = ? and mailbox_id = ? and message_id_header = any(?::text[])
        order by created_at desc limit 1`,
      [uow.actor.tenantId, key.mailboxId, toPgArray(ids)],
    )) as { conversation_id: string }[];
    if (rows[0]) return em.findOne(ConversationSchema, { id: rows[0].conversation_id });
  }
  if (!key.normalizedSubject || key.participants.length === 0) return null;
  const rows = (await em.execute(
    `select id from conversations
      where tenant_id = ? and mailbox_id = ? and normalized_subject = ?
        and last_message_at > now() - make_interval(days => ?) and participants && ?::text[]
      order by last_message_at desc limit 1`,
    [uow.actor.tenantId, key.mailboxId, key.normalizedSubject, SUBJECT_THREAD_DAYS, toPgArray(key.participants)],
  )) as { id: string }[];
  return rows[0] ? em.findOne(ConversationSchema, { id: rows[0].id }) : null;
}

/** A PostgreSQL array literal; every element quoted, quotes and backslashes escaped. */
export function toPgArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}
