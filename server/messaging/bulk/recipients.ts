import type { EntityManager } from '@mikro-orm/postgresql';
import { segmentFilter } from '#contracts/newsletter-lists';
import type { BulkMessageChannel } from '#contracts/message-bulks';
import { compileSegment, pgArray, SEGMENT_FROM } from '../../newsletters/segments.ts';
import { toE164 } from '../party.ts';

/**
 * A bulk message's recipients as the engine's `select` (contact_id, address), frozen at start: the contacts of the
 * static lists (subscribed members with a contact) and of the segments (live matches, with or without an email),
 * each at its number in E.164 (mobile first) on sms/whatsapp, or at its latest Telegram chat with this account.
 * Contacts with no such address are left out (counted by the caller as `unreachable`).
 */
export async function bulkRecipients(
  em: EntityManager,
  tenantId: string,
  input: { channel: BulkMessageChannel; listIds: string[]; mailboxId: string },
): Promise<{ select: { sql: string; params: unknown[] }; contacts: number; reachable: number }> {
  const lists = (await em.execute(
    `select id, kind, filter from mailing_lists where tenant_id = ? and id = any(?::uuid[])`,
    [tenantId, pgArray(input.listIds)],
  )) as { id: string; kind: string; filter: unknown }[];
  const parts: string[] = [];
  const params: unknown[] = [];
  const staticIds = lists.filter((l) => l.kind === 'static').map((l) => l.id);
  if (staticIds.length) {
    parts.push(`select contact_id from consents where tenant_id = ?::uuid and channel = 'email'
                  and list_id = any(?::uuid[]) and status = 'subscribed' and contact_id is not null`);
    params.push(tenantId, pgArray(staticIds));
  }
  for (const list of lists.filter((l) => l.kind === 'segment')) {
    const parsed = segmentFilter.safeParse(list.filter);
    // A stored filter that no longer parses matches nobody rather than everybody.
    if (!parsed.success) continue;
    const segment = await compileSegment(em, tenantId, parsed.data);
    parts.push(`select ct.id as contact_id from ${SEGMENT_FROM} where ct.tenant_id = ?::uuid and ${segment.where}`);
    params.push(tenantId, ...segment.params);
  }
  const none = { sql: `select null::uuid as contact_id, null::text as address where false`, params: [] };
  if (!parts.length) return { select: none, contacts: 0, reachable: 0 };
  const ids = `select distinct contact_id from (${parts.join(' union all ')}) a`;
  let rows: { contact_id: string; address: string | null }[];
  if (input.channel === 'telegram') {
    rows = (await em.execute(
      `select i.contact_id, (select cv.participants[1] from conversations cv
                               where cv.tenant_id = ? and cv.mailbox_id = ? and cv.channel = 'telegram'
                                 and cv.contact_id = i.contact_id
                               order by cv.last_message_at desc limit 1) as address
         from (${ids}) i`,
      [tenantId, input.mailboxId, ...params],
    )) as typeof rows;
  } else {
    const found = (await em.execute(
      `select c.id as contact_id, c.mobile, c.phone from contacts c where c.tenant_id = ? and c.id in (${ids})`,
      [tenantId, ...params],
    )) as { contact_id: string; mobile: string | null; phone: string | null }[];
    rows = found.map((r) => ({ contact_id: r.contact_id, address: toE164(r.mobile) ?? toE164(r.phone) }));
  }
  const reachable = rows.filter((r) => r.address);
  return {
    select: {
      sql: `select x.contact_id, x.address from jsonb_to_recordset(?::jsonb) as x(contact_id uuid, address text)`,
      params: [JSON.stringify(reachable)],
    },
    contacts: rows.length,
    reachable: reachable.length,
  };
}
