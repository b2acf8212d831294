import { prepared, runPrepared } from '../../db-hot/prepared.ts';
import type { UnitOfWork } from '../../tenancy.ts';

/** An inbound row as locked by the batch: whether it is processed already, and its tries so far. */
export interface LockedInbound {
  status: string;
  attempts: number;
}

/** What a message's write needs of its mailbox. */
export interface BatchMailbox {
  id: string;
  createContacts: boolean;
}

// No join: the ORM's findOne joined the mailbox (for its tenant filter) and so locked the mailbox's row too, which
// made every batch of a mailbox wait for the one before it to commit.
const LOCK_INBOUND = prepared(
  `select id, status, attempts from inbound_messages where id = any($1::uuid[]) order by id for update`,
);
const MAILBOXES = prepared(`select id, create_contacts from mailboxes where id = any($1::uuid[])`);
const DONE = prepared(
  `update inbound_messages
      set status = 'processed', processed_at = now(), error = null, attempts = $2, classification = $3,
          email_message_id = coalesce($4, email_message_id), details = $5::jsonb
    where id = $1`,
);

/** Locks these inbound rows to commit, in id order (every writer's order): their status and tries, by id. */
export async function lockInbound(uow: UnitOfWork, ids: string[]): Promise<Map<string, LockedInbound>> {
  const rows = await runPrepared<{ id: string; status: string; attempts: number }>(uow, LOCK_INBOUND, [ids]);
  return new Map(rows.map((r) => [r.id, { status: r.status, attempts: r.attempts }]));
}

/** The mailboxes of a batch, by id, read once for all its messages. */
export async function mailboxesOf(uow: UnitOfWork, ids: string[]): Promise<Map<string, BatchMailbox>> {
  const rows = await runPrepared<{ id: string; create_contacts: boolean }>(uow, MAILBOXES, [ids]);
  return new Map(rows.map((r) => [r.id, { id: r.id, createContacts: r.create_contacts }]));
}

/** Marks a locked inbound row processed, with what processing found; the lock's copy follows. */
export async function markProcessed(
  uow: UnitOfWork,
  id: string,
  locked: LockedInbound,
  fields: { classification: string; emailMessageId?: string | null; details: Record<string, unknown> },
): Promise<void> {
  await runPrepared(uow, DONE, [
    id,
    locked.attempts + 1,
    fields.classification,
    fields.emailMessageId ?? null,
    JSON.stringify(fields.details),
  ]);
  // A second job of the same message later in the batch finds it done.
  locked.status = 'processed';
  locked.attempts += 1;
}
