import type { ConsentChannel } from '#contracts/consent';
import type { UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { ContactRow } from './consent-admin.service.ts';
import { attachmentIds } from './gdpr-export.ts';
import { pgArray } from './consent.service.ts';

/** What is deleted after the erasure commits: blob and spool files. */
export interface ErasedFiles {
  blobKeys: string[];
  spoolKeys: string[];
}

export const ERASED_NAME = 'Erased contact';

type Row = Record<string, unknown>;

/**
 * Erases one contact's personal data in the caller's transaction. The contact row goes; their mail keeps its place
 * in the team's conversations but loses bodies, names, addresses and attachments; documents, timeline entries and
 * notifications about them go; consent rows lose address and evidence but keep the hash, under a channel-wide
 * `unsubscribed` row of source `erasure` so they are never mailed again. Notes (the team's) stay, moved to the
 * company. Send counters are untouched.
 */
export async function eraseContact(
  uow: UnitOfWork,
  contact: ContactRow,
  deps: { activities: ActivitiesService; hash: (channel: ConsentChannel, address: string) => string },
): Promise<ErasedFiles> {
  const { em, actor } = uow;
  const id = contact.id;
  const email = contact.email?.trim().toLowerCase() ?? null;
  const name = `${contact.first_name} ${contact.last_name}`.trim();
  const q = (sql: string, params: unknown[] = []) => em.execute(sql, params) as Promise<Row[]>;

  const conversations = (await q(`select id from conversations where contact_id = ?`, [id])).map((r) => String(r.id));
  const messages = await q(
    `select id, inbound_message_id, attachments from messages where contact_id = ? or conversation_id = any(?::uuid[])`,
    [id, pgArray(conversations)],
  );
  const messageIds = messages.map((m) => String(m.id));
  const inboundIds = messages.map((m) => m.inbound_message_id).filter((v): v is string => typeof v === 'string');

  // Files: the contact's documents, their conversations' and their messages' attachments.
  const documents = await q(
    `delete from documents
      where (entity_type = 'contact' and entity_id = ?) or (entity_type = 'conversation' and entity_id = any(?::uuid[]))
         or id = any(?::uuid[])
      returning file_url`,
    [id, pgArray(conversations), pgArray(attachmentIds(messages))],
  );
  const spooled = await q(
    `update inbound_messages i set spool_key = null, mail_from = null, rcpt_to = '{}', remote_address = null,
            helo_name = null, details = '{}', error = null, message_id_header = null
       from (select id, spool_key from inbound_messages where id = any(?::uuid[]) or email_message_id = any(?::uuid[])
             for update) prev
      where i.id = prev.id returning prev.spool_key`,
    [pgArray(inboundIds), pgArray(messageIds)],
  );

  // Mail: kept in its conversation (the team's history) with nothing of the person left in it.
  await q(
    `update messages set text = null, html = null, subject = '(erased)', from_name = null,
            from_address = case when lower(from_address) = ? then null else from_address end,
            attachments = '[]', email = null, tracked_links = null, error = null, has_remote_images = false,
            contact_id = null
      where id = any(?::uuid[])`,
    [email, pgArray(messageIds)],
  );
  await q(`delete from tracking_events where message_id = any(?::uuid[])`, [pgArray(messageIds)]);
  await q(
    `update outbound_deliveries set bcc = '[]', reply_to = null, headers = '{}', response = null
      where id = any(?::uuid[])`,
    [pgArray(messageIds)],
  );
  await q(
    `update conversations set subject = '(erased)', normalized_subject = '(erased)', contact_id = null,
            participants = array(select p from unnest(participants) p where lower(p) <> coalesce(?, ''))
      where id = any(?::uuid[])`,
    [email, pgArray(conversations)],
  );

  // Meetings they were invited to: the attendee stays (the meeting happened), anonymous.
  await q(
    `update meeting_attendees set name = ?, email = null, contact_id = null
      where contact_id = ? or (? is not null and lower(email) = ?)`,
    [ERASED_NAME, id, email, email],
  );
  await q(
    `update video_meetings set participants = coalesce((select jsonb_agg(p) from jsonb_array_elements(participants) p
                                                   where lower(coalesce(p->>'email', '')) <> coalesce(?, '')), '[]')
      where participants::text ilike ?`,
    [email, `%${email ?? '\u0000'}%`],
  );

  // Consent: the evidence goes, the hash stays and refuses the address on every channel it was known on.
  const consentRows = await q(
    `select distinct channel, address_hash from consents where contact_id = ? or (channel = 'email' and address_hash = ?)`,
    [id, email ? deps.hash('email', email) : null],
  );
  const scopes = new Map(consentRows.map((r) => [`${String(r.channel)}:${String(r.address_hash)}`, r]));
  if (email)
    scopes.set(`email:${deps.hash('email', email)}`, { channel: 'email', address_hash: deps.hash('email', email) });
  for (const scope of scopes.values()) {
    await q(
      `update consent_events set ip = null, user_agent = null, consent_text = null, note = null
        where consent_id in (select id from consents where channel = ? and address_hash = ?)`,
      [scope.channel, scope.address_hash],
    );
    await q(
      `update consents set address = null, ip = null, user_agent = null, consent_text = null,
              confirm_token_hash = null, contact_id = null
        where channel = ? and address_hash = ?`,
      [scope.channel, scope.address_hash],
    );
    const [wide] = await q(
      `insert into consents (id, tenant_id, channel, address, address_hash, list_id, status, source, withdrawn_at)
       values (gen_random_uuid(), ?, ?, null, ?, null, 'unsubscribed', 'erasure', now())
       on conflict (tenant_id, channel, address_hash, coalesce(list_id, '00000000-0000-0000-0000-000000000000'::uuid))
       do update set status = 'unsubscribed', source = 'erasure', withdrawn_at = now(), updated_at = now()
       returning id`,
      [actor.tenantId, scope.channel, scope.address_hash],
    );
    await q(
      `insert into consent_events (id, tenant_id, consent_id, status, source, actor_id)
       values (gen_random_uuid(), ?, ?, 'unsubscribed', 'erasure', ?)`,
      [actor.tenantId, wide!.id, actor.system ? null : actor.userId],
    );
  }
  await q(`update bulk_sends set address = null where contact_id = ? or (? is not null and lower(address) = ?)`, [
    id,
    email,
    email,
  ]);

  // Timeline and notifications about them go; anything else naming them is found by its words.
  const mentions = [email, name.length >= 3 ? name : null]
    .filter((v): v is string => !!v)
    .map((v) => `%${escapeLike(v)}%`);
  await q(
    `delete from activities
      where (entity_type = 'contact' and entity_id = ?) or (entity_type = 'conversation' and entity_id = any(?::uuid[]))
         or metadata->>'contactId' = ?::text
         or (title || ' ' || coalesce(description, '') || ' ' || metadata::text) ilike any(?::text[])`,
    [id, pgArray(conversations), id, pgArray(mentions)],
  );
  await q(
    `delete from notifications
      where entity_id = ? or entity_id = any(?::uuid[])
         or (title || ' ' || coalesce(body, '') || ' ' || data::text) ilike any(?::text[])`,
    [id, pgArray(conversations), pgArray(mentions)],
  );
  if (contact.company_id)
    await q(`update notes set entity_type = 'company', entity_id = ? where entity_type = 'contact' and entity_id = ?`, [
      contact.company_id,
      id,
    ]);

  await q(`delete from contacts where id = ?`, [id]);
  await deps.activities.record(uow, {
    entityType: 'contact',
    entityId: id,
    companyId: contact.company_id,
    type: 'contact.deleted',
    title: `${ERASED_NAME} (personal data erased)`,
    data: { name: ERASED_NAME },
  });
  return {
    blobKeys: documents.map((d) => String(d.file_url).replace(/^blob:/, '')),
    spoolKeys: spooled.map((r) => r.spool_key).filter((k): k is string => typeof k === 'string'),
  };
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
