import type { ConsentSource } from '#contracts/consent';
import type { SendSource } from '#contracts/delivery';
import type { ConsentEvidence, ConsentService } from '../../consent/consent.service.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import { bumpStats } from './stats.ts';

/** What an unsubscribe of a send row did. */
export interface SendUnsubscribe {
  sendId: string;
  address: string | null;
  contactId: string | null;
  /** The lists it was withdrawn from; empty: the whole channel. */
  listIds: string[];
  /** False when the row was already unsubscribed (nothing counted twice). */
  first: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface SendRow {
  id: string;
  source: SendSource;
  source_id: string;
  contact_id: string | null;
  address: string | null;
  variant: string | null;
  unsubscribed_at: Date | null;
}

/**
 * The recipient of a send row withdraws (one-click POST, the mailto of List-Unsubscribe): the consent of the lists
 * the mail was sent for (a campaign's lists; the whole channel for any other source), `unsubscribed_at` on the row
 * and the source's `unsubscribed` counter, once. Idempotent: a repeat changes nothing and writes no new evidence
 * while the address stays unsubscribed. Runs in the caller's transaction, in the row's workspace; null: no such row.
 */
export async function unsubscribeSend(
  uow: UnitOfWork,
  sendId: string,
  opts: { source: ConsentSource; evidence?: ConsentEvidence },
  consent: ConsentService,
): Promise<SendUnsubscribe | null> {
  const { em } = uow;
  const [row] = (await em.execute(
    `select s.id, s.source, s.source_id, s.contact_id, s.address, s.variant, s.unsubscribed_at, c.list_ids
       from bulk_sends s left join campaigns c on s.source = 'campaign' and c.id = s.source_id
      where s.id = ? for update of s`,
    [sendId],
  )) as (SendRow & { list_ids: unknown[] | null })[];
  if (!row) return null;
  const listIds = (row.list_ids ?? []).filter((id): id is string => typeof id === 'string' && UUID.test(id));
  if (row.address) {
    // Already withdrawn (for a list or the whole channel): no new event, no second timeline entry.
    const blocking = (await em.execute(
      `select list_id from consents where channel = 'email' and address_hash = ?
          and (list_id is null or list_id = any(?::uuid[])) and status in ('unsubscribed', 'bounced', 'complained')`,
      [consent.hash('email', row.address), `{${listIds.join(',')}}`],
    )) as { list_id: string | null }[];
    const blocked = new Set(blocking.map((b) => b.list_id));
    for (const listId of listIds.length ? listIds : [null]) {
      if (blocked.has(null) || blocked.has(listId)) continue;
      const { previous } = await consent.set(uow, {
        channel: 'email',
        address: row.address,
        listId,
        status: 'unsubscribed',
        source: opts.source,
        contactId: row.contact_id,
        evidence: opts.evidence,
      });
      if (listId && previous === 'subscribed')
        await em.execute(
          `update mailing_lists set subscriber_count = greatest(subscriber_count - 1, 0), updated_at = now() where id = ?`,
          [listId],
        );
    }
  }
  const first = !row.unsubscribed_at;
  if (first) {
    await em.execute(`update bulk_sends set unsubscribed_at = now() where id = ?`, [row.id]);
    await bumpStats(
      em,
      { tenantId: uow.actor.tenantId, source: row.source, sourceId: row.source_id, variant: row.variant },
      { unsubscribed: 1 },
    );
  }
  return { sendId: row.id, address: row.address, contactId: row.contact_id, listIds, first };
}
