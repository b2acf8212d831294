import { prepared, runPrepared } from '../../db-hot/prepared.ts';
import type { UnitOfWork } from '../../tenancy.ts';

/** A message received earlier in the mailbox under the same Message-ID. */
export interface Earlier {
  id: string;
  inbound_message_id: string | null;
  from_address: string | null;
  subject: string;
  text: string | null;
}

const SAME_MESSAGE_ID = prepared(
  `select id, inbound_message_id, from_address, subject, text from messages
    where tenant_id = $1 and mailbox_id = $2 and message_id_header = $3 and direction = 'inbound'
    order by created_at limit 20`,
);

const SAME_MESSAGE_IDS = prepared(
  `select mailbox_id, message_id_header, id, inbound_message_id, from_address, subject, text from messages
    where tenant_id = $1 and mailbox_id = any($2::uuid[]) and message_id_header = any($3::text[])
      and direction = 'inbound'
    order by created_at`,
);

const keyOf = (mailboxId: string, messageId: string) => `${mailboxId}\n${messageId}`;

/** Per transaction (its EntityManager): the batch's Message-IDs asked, and the messages under each (with its own). */
const held = new WeakMap<object, Map<string, Earlier[]>>();

/**
 * Looks up, for a batch about to be written, the messages already received under its messages' Message-IDs: one
 * statement for the batch instead of one per message. Call it once the batch holds its Message-ID advisory locks
 * (no other writer adds one meanwhile); the batch's own writes are added as they are made (`received`).
 */
export async function lookUpEarlier(uow: UnitOfWork, items: { mailboxId: string; messageId: string | null }[]) {
  const asked = items.filter((i): i is { mailboxId: string; messageId: string } => Boolean(i.messageId));
  if (!asked.length) return;
  const rows = await runPrepared<Earlier & { mailbox_id: string; message_id_header: string }>(uow, SAME_MESSAGE_IDS, [
    uow.actor.tenantId,
    [...new Set(asked.map((i) => i.mailboxId))],
    [...new Set(asked.map((i) => i.messageId))],
  ]);
  const byKey = new Map<string, Earlier[]>(asked.map((i) => [keyOf(i.mailboxId, i.messageId), []]));
  for (const { mailbox_id, message_id_header, ...earlier } of rows)
    byKey.get(keyOf(mailbox_id, message_id_header))?.push(earlier);
  held.set(uow.em, byKey);
}

/** The messages received earlier in the mailbox under this Message-ID, oldest first (at most 20). */
export async function earlierOf(uow: UnitOfWork, mailboxId: string, messageId: string): Promise<Earlier[]> {
  const batch = held.get(uow.em)?.get(keyOf(mailboxId, messageId));
  if (batch) return batch.slice(0, 20);
  return runPrepared<Earlier>(uow, SAME_MESSAGE_ID, [uow.actor.tenantId, mailboxId, messageId]);
}

/** A message the batch just wrote: a later one of the batch under the same Message-ID finds it. */
export function received(uow: UnitOfWork, mailboxId: string, messageId: string, message: Earlier): void {
  held.get(uow.em)?.get(keyOf(mailboxId, messageId))?.push(message);
}
