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
    `select id, source, source_id, contact_id, address, variant, unsubscribed_at from bulk_sends where id = ? for update`,
    [sendId],
  )) as SendRow[];
  if (!row) return null;
  let listIds: string[] = [];
  if (row.source === 'campaign') {
    const [campaign] = (await em.execute(`select list_ids from campaigns where id = ?`, [row.source_id])) as {
      list_ids: string[] | null;
    }[];
    listIds = (campaign?.list_ids ?? []).filter((id) => typeof id === 'string');
  }
  if (row.address) {
    for (const listId of listIds.length ? listIds : [null]) {
      // Already withdrawn (for this list or the whole channel): no new event, no second timeline entry.
      const blocking = (await em.execute(
        `select 1 from consents where channel = 'email' and address_hash = ?
            and (list_id is null or list_id = ?::uuid) and status in ('unsubscribed', 'bounced', 'complained') limit 1`,
        [consent.hash('email', row.address), listId],
      )) as unknown[];
      if (blocking.length) continue;
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
