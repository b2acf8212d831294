import type { UnitOfWork } from '../../tenancy.ts';
import { threadKey, xactLock } from './batch-keys.ts';
import { prepared, preparedOnce, runPrepared } from '../../db-hot/prepared.ts';

export { toPgArray } from './pg-array.ts';

export const SUBJECT_THREAD_DAYS = 30;

/**
 * The conversation holding the latest referenced message sent to or by its sender (`known`), or else the one holding
 * the latest referenced message, with the customer it is linked to (read here, not in a round trip of its own). One
 * row: a reply deep in a thread names every message before it, and each was read and sent back here before.
 */
const BY_REFERENCES = prepared(
  `select m.conversation_id, c.contact_id, c.company_id,
          ($1::text <> '' and (lower(coalesce(m.from_address, '')) = $1
            or exists (select 1 from jsonb_array_elements(coalesce(m.email->'to', '[]'::jsonb) || coalesce(m.email->'cc', '[]'::jsonb)) e
                        where lower(e->>'address') = $1))) as known
     from messages m join conversations c on c.id = m.conversation_id
    where m.tenant_id = $2 and m.mailbox_id = $3 and m.message_id_header = any($4::text[])
    order by known desc, m.created_at desc limit 1`,
);

/** A recent conversation of the mailbox with this subject, one sharing a participant first; its customer too. */
export const BY_SUBJECT = prepared(
  `select id, contact_id, company_id, participants && $1::text[] as shared from conversations
    where tenant_id = $2 and mailbox_id = $3 and normalized_subject = $4
      and last_message_at > now() - make_interval(days => $5::int)
    order by (participants && $1::text[]) desc, last_message_at desc limit 1`,
);

interface Linked {
  contact_id: string | null;
  company_id: string | null;
}

/** The workspace's mailbox addresses and its members' emails, lower-cased. */
const TEAM_ADDRESSES = prepared(
  `select lower(address) as address from mailboxes where tenant_id = $1 and address is not null
   union select lower(u.email) from memberships m join users u on u.id = m.user_id where m.tenant_id = $1`,
);

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

export interface ThreadConversation {
  id: string;
  contactId: string | null;
  companyId: string | null;
}

export interface ThreadMatch {
  /** The conversation the message continues (its id and customer); null starts a new one. */
  conversation: ThreadConversation | null;
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
  // Messages of one new thread processed at once must land in one conversation: same mailbox and subject wait.
  await xactLock(uow, threadKey(key.mailboxId, key.normalizedSubject));
  let related: string | null = null;
  const ids = [...new Set([key.inReplyTo, ...key.references].filter((v): v is string => Boolean(v)))].slice(-100);
  if (ids.length) {
    const rows = await runPrepared<Linked & { conversation_id: string; known: boolean }>(uow, BY_REFERENCES, [
      key.sender ?? '',
      uow.actor.tenantId,
      key.mailboxId,
      ids,
    ]);
    const [latest] = rows;
    if (latest?.known) return { conversation: conversationOf(latest.conversation_id, latest), related: null };
    related = latest?.conversation_id ?? null;
  }
  const external = await externalParticipants(uow, key);
  if (!key.normalizedSubject) return { conversation: null, related };
  const rows = await runPrepared<Linked & { id: string; shared: boolean }>(uow, BY_SUBJECT, [
    external,
    uow.actor.tenantId,
    key.mailboxId,
    key.normalizedSubject,
    SUBJECT_THREAD_DAYS,
  ]);
  const row = rows[0];
  if (row?.shared && external.length) return { conversation: conversationOf(row.id, row), related: null };
  return { conversation: null, related: related ?? row?.id ?? null };
}

const conversationOf = (id: string, row: Linked): ThreadConversation => ({
  id,
  contactId: row.contact_id,
  companyId: row.company_id,
});

/** The message's participants that are not us: not where it reached us, not a mailbox's address, not a teammate. */
async function externalParticipants(uow: UnitOfWork, key: ThreadKey): Promise<string[]> {
  const own = key.ownAddresses.map((a) => a.toLowerCase());
  const ownDomains = new Set(own.map((a) => a.slice(a.lastIndexOf('@') + 1)).filter(Boolean));
  // Once per transaction: a batch's messages all ask it, and its writes add no mailbox nor teammate.
  const team = await preparedOnce(uow, TEAM_ADDRESSES, [uow.actor.tenantId], (rows: { address: string }[]) =>
    rows.map((r) => r.address),
  );
  const ours = new Set([...own, ...team]);
  return key.participants.filter((a) => !ours.has(a) && !ownDomains.has(a.slice(a.lastIndexOf('@') + 1)));
}
