import { existsSync } from 'node:fs';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { UnitOfWork } from '../tenancy.ts';
import { visibleMailboxes } from '../timeline/mailbox-visibility.ts';
import type { ContactRow } from './consent-admin.service.ts';
import { pgArray } from './consent.service.ts';

/** A file of the export: where its bytes are and the name it takes under `files/`. */
export interface ExportFile {
  blobKey: string;
  name: string;
}

type Row = Record<string, unknown>;

const rows = (em: EntityManager, sql: string, params: unknown[]) => em.execute(sql, params) as Promise<Row[]>;

/** A path-safe file name inside the archive. */
const safeName = (name: string) =>
  [...name]
    .map((c) => (c.charCodeAt(0) < 32 || '\\/:*?"<>|'.includes(c) ? '_' : c))
    .join('')
    .slice(0, 150) || 'file';

/**
 * Everything Filo keeps about one contact that the reader may see (mail of mailboxes they do not see is left out),
 * as the `contact.json` of a data export, and the files that go with it.
 */
export async function collectExport(
  uow: UnitOfWork,
  contact: ContactRow,
  consentHash: string | null,
): Promise<{ data: Row; files: ExportFile[] }> {
  const { em } = uow;
  const visible = await visibleMailboxes(uow);
  // null: every mailbox; the SQL reads "no mailbox, or one of these".
  const seen = (column: string) => `(${column} is null or ?::uuid[] is null or ${column} = any(?::uuid[]))`;
  const vis = visible ? [pgArray(visible), pgArray(visible)] : [null, null];
  const [person] = await rows(
    em,
    `select c.id, c.first_name, c.last_name, c.email, c.phone, c.mobile, c.role, c.department, c.is_primary,
            c.avatar_url, c.linkedin_url, c.birthday, c.custom_fields, c.notes, c.tags, c.status, c.created_at,
            c.updated_at, c.email_bounced_at, c.email_bounce_reason, co.name as company_name
       from contacts c left join companies co on co.id = c.company_id where c.id = ?`,
    [contact.id],
  );
  const notes = await rows(
    em,
    `select id, content, note_type, created_at, updated_at from notes
      where entity_type = 'contact' and entity_id = ? order by created_at`,
    [contact.id],
  );
  const timeline = await rows(
    em,
    `select activity_type as type, title, description, metadata as data, created_at from activities
      where entity_type = 'contact' and entity_id = ? and ${seen('mailbox_id')} order by seq`,
    [contact.id, ...vis],
  );
  const conversations = await rows(
    em,
    `select id, subject, channel, status, created_at, last_message_at from conversations
      where contact_id = ? and ${seen('mailbox_id')} order by created_at`,
    [contact.id, ...vis],
  );
  const conversationIds = conversations.map((c) => c.id);
  const messages = await rows(
    em,
    `select id, conversation_id, direction, from_address, from_name, subject, text, sent_at, created_at, attachments
       from messages where (conversation_id = any(?::uuid[]) or contact_id = ?) and ${seen('mailbox_id')}
      order by coalesce(sent_at, created_at)`,
    [pgArray(conversationIds as string[]), contact.id, ...vis],
  );
  for (const c of conversations) c.messages = messages.filter((m) => m.conversation_id === c.id);
  const meetings = await rows(
    em,
    `select m.id, m.title, m.kind, m.scheduled_at, m.duration_minutes, m.status, m.started_at, m.ended_at
       from video_meetings m
      where m.contact_id = ? or exists (select 1 from meeting_attendees a where a.meeting_id = m.id
                                         and (a.contact_id = ? or lower(a.email) = lower(?)))
      order by m.scheduled_at nulls last`,
    [contact.id, contact.id, contact.email ?? ''],
  );
  const consents = await rows(
    em,
    `select c.id, c.channel, c.address, c.list_id, l.name as list_name, c.status, c.source, c.ip, c.user_agent,
            c.consent_text, c.signed_up_at, c.confirmed_at, c.withdrawn_at, c.updated_at,
            coalesce((select json_agg(json_build_object('status', e.status, 'source', e.source, 'ip', e.ip,
                        'userAgent', e.user_agent, 'consentText', e.consent_text, 'note', e.note,
                        'at', e.created_at) order by e.created_at)
                        from consent_events e where e.consent_id = c.id), '[]') as events
       from consents c left join mailing_lists l on l.id = c.list_id
      where c.contact_id = ? or (c.channel = 'email' and c.address_hash = ?)
      order by c.channel, c.list_id nulls first, c.created_at`,
    [contact.id, consentHash],
  );
  const bulkSends = await rows(
    em,
    `select b.source, b.source_id, k.name as campaign, k.subject, b.address, b.status, b.sent_at, b.opened_at,
            b.clicked_at, b.replied_at, b.bounced_at, b.complained_at, b.unsubscribed_at
       from bulk_sends b left join campaigns k on b.source = 'campaign' and k.id = b.source_id
      where b.contact_id = ? order by b.created_at`,
    [contact.id],
  );
  const documents = await rows(
    em,
    `select id, file_name, file_type, file_size, category, uploaded_at, file_url from documents
      where ((entity_type = 'contact' and entity_id = ?) or (entity_type = 'conversation' and entity_id = any(?::uuid[]))
             or id = any(?::uuid[]))
        and ${seen('mailbox_id')}
      order by uploaded_at`,
    [contact.id, pgArray(conversationIds as string[]), pgArray(attachmentIds(messages)), ...vis],
  );
  const files: ExportFile[] = [];
  for (const d of documents) {
    const key = String(d.file_url).replace(/^blob:/, '');
    delete d.file_url;
    d.path = `files/${String(d.id).slice(0, 8)}-${safeName(String(d.file_name))}`;
    files.push({ blobKey: key, name: d.path as string });
  }
  return {
    data: {
      exportedAt: new Date().toISOString(),
      contact: person,
      notes,
      timeline,
      conversations,
      meetings,
      consents,
      bulkSends,
      documents,
    },
    files,
  };
}

/** The document ids of the messages' attachments. */
export function attachmentIds(messages: Row[]): string[] {
  const ids: string[] = [];
  for (const m of messages) {
    for (const a of (m.attachments as { documentId?: unknown }[] | null) ?? []) {
      if (typeof a.documentId === 'string') ids.push(a.documentId);
    }
  }
  return ids;
}

/** Files of the export whose bytes are still there (a blob removed meanwhile is left out, not a broken archive). */
export const presentFiles = (files: ExportFile[], pathOf: (key: string) => string) =>
  files.filter((f) => existsSync(pathOf(f.blobKey)));
