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
  `update inbound_messages i
      set status = 'processed', processed_at = now(), error = null, attempts = d.attempts,
          classification = d.classification, email_message_id = coalesce(d.email_message_id, i.email_message_id),
          details = d.details
     from unnest($1::uuid[], $2::int[], $3::text[], $4::uuid[], $5::jsonb[])
          as d(id, attempts, classification, email_message_id, details)
    where i.id = d.id`,
);

interface Done {
  id: string;
  attempts: number;
  classification: string;
  emailMessageId: string | null;
  details: string;
}

/** Per transaction (its EntityManager): the rows marked processed and not yet written. */
const pending = new WeakMap<object, Done[]>();

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

/**
 * Marks a locked inbound row processed, with what processing found; the lock's copy follows at once, the row with
 * the batch's others in one statement (`writeProcessed`, before the transaction commits).
 */
export function markProcessed(
  uow: UnitOfWork,
  id: string,
  locked: LockedInbound,
  fields: { classification: string; emailMessageId?: string | null; details: Record<string, unknown> },
): void {
  let rows = pending.get(uow.em);
  if (!rows) pending.set(uow.em, (rows = []));
  rows.push({
    id,
    attempts: locked.attempts + 1,
    classification: fields.classification,
    emailMessageId: fields.emailMessageId ?? null,
    details: JSON.stringify(fields.details),
  });
  // A second job of the same message later in the batch finds it done.
  locked.status = 'processed';
  locked.attempts += 1;
}

/** Writes the rows this transaction marked processed: one statement for a batch. */
export async function writeProcessed(uow: UnitOfWork): Promise<void> {
  const rows = pending.get(uow.em);
  if (!rows?.length) return;
  pending.delete(uow.em);
  await runPrepared(uow, DONE, [
    rows.map((r) => r.id),
    rows.map((r) => r.attempts),
    rows.map((r) => r.classification),
    rows.map((r) => r.emailMessageId),
    rows.map((r) => r.details),
  ]);
}
