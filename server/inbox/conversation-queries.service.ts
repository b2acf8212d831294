import { z } from 'zod';
import type { Channel } from '#contracts/common';
import type { MikroORM } from '../../db/orm.ts';
import type { CONVERSATION_STATUSES, Conversation } from '../../db/entities/conversation.entity.ts';
import { MessageSchema, type Message } from '../../db/entities/message.entity.ts';
import { InboundMessageSchema, type InboundMessage } from '../../db/entities/inbound-message.entity.ts';
import { MailboxSchema } from '../../db/entities/mailbox.entity.ts';
import { DocumentSchema } from '../../db/entities/document.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { prefixQuery } from '../crm/search.service.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { INBOUND_QUEUE, type InboundJob } from '../../mail-gateway/inbound-store.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { ActivityDto } from '../timeline/publisher.ts';
import type { MailboxesService } from './mailboxes.service.ts';
import { mirrorReadState } from './inbound/account-mail.ts';
import { visibleConversation } from '../outbound/context.ts';

import type { conversationCountsQuery, conversationListQuery } from '#contracts/inbox';

// The inbox's read side, apart from the workflow writes (conversation-workflow.service.ts).

const uuid = z.string().uuid();

export { conversationCountsQuery, conversationListQuery } from '#contracts/inbox';

export interface ConversationDto {
  id: string;
  channel: Channel;
  mailboxId: string;
  subject: string;
  status: string;
  assigneeId: string | null;
  tags: string[];
  participants: string[];
  contactId: string | null;
  companyId: string | null;
  contactName: string | null;
  companyName: string | null;
  messageCount: number;
  lastMessageAt: Date;
  snippet: string;
  lastFrom: string | null;
  snoozedUntil: Date | null;
  /** A conversation this one may continue (it referenced it or shared its subject, with nobody in common). */
  relatedConversationId: string | null;
  /** A message this user has not read (newer than their read mark; their own replies do not count). */
  unread: boolean;
  version: number;
}

export interface InboxCounts {
  /** Per view: how many conversations, and how many of them unread for this user. */
  views: Record<'mine' | 'unassigned' | 'all', { total: number; unread: number }>;
  mailboxes: Record<string, { total: number; unread: number }>;
  /** Per status, over every mailbox this user sees (whatever the status filter). */
  statuses: Record<(typeof CONVERSATION_STATUSES)[number], number>;
}

/** Whether a conversation has a message newer than the user's read mark (their own outgoing ones aside). */
export const UNREAD_SQL = `exists (select 1 from messages um
                     where um.tenant_id = c.tenant_id and um.conversation_id = c.id
                       and um.created_at > coalesce((select r.last_read_at from conversation_reads r
                                                      where r.tenant_id = c.tenant_id and r.conversation_id = c.id
                                                        and r.user_id = ?), '-infinity'::timestamptz)
                       and um.sent_by is distinct from ?::uuid)`;

/** Keyset cursor over (last_message_at desc, id desc). */
const encodeCursor = (at: Date, id: string) => Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
function decodeCursor(cursor: string): { at: string; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !uuid.safeParse(id).success)
    throw new HttpError(400, 'invalid_cursor', 'The cursor is not valid for this list');
  return { at, id };
}

/** One conversation as the list shows it, for this actor. */
export async function conversationDto(uow: UnitOfWork, c: Conversation): Promise<ConversationDto> {
  const [row] = (await uow.em.execute(`select ${UNREAD_SQL} as unread from conversations c where c.id = ?`, [
    uow.actor.userId,
    uow.actor.userId,
    c.id,
  ])) as { unread: boolean }[];
  const last = await uow.em.findOne(MessageSchema, { conversationId: c.id }, { orderBy: { createdAt: 'desc' } });
  return {
    id: c.id,
    channel: c.channel,
    mailboxId: c.mailboxId,
    subject: c.subject,
    status: c.status,
    assigneeId: c.assigneeId ?? null,
    tags: c.tags,
    participants: c.participants,
    contactId: c.contactId ?? null,
    companyId: c.companyId ?? null,
    contactName: null,
    companyName: null,
    messageCount: c.messageCount,
    lastMessageAt: c.lastMessageAt,
    snippet: (last?.text ?? '').replace(/\s+/g, ' ').trim().slice(0, 160),
    lastFrom: last ? last.fromName || last.fromAddress || null : null,
    snoozedUntil: c.snoozedUntil ?? null,
    relatedConversationId: c.relatedConversationId ?? null,
    unread: Boolean(row?.unread),
    version: c.version,
  };
}

/** Reads of the conversations an actor can see: lists, counts, messages, raw sources, attachments, read marks. */
export class ConversationQueriesService {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;
  readonly #blobs: BlobStore;
  readonly #spoolPath: (key: string) => string;
  readonly #activities: ActivitiesService;

  constructor(
    orm: MikroORM,
    mailboxes: MailboxesService,
    blobs: BlobStore,
    spoolPath: (key: string) => string,
    activities: ActivitiesService,
  ) {
    this.#orm = orm;
    this.#mailboxes = mailboxes;
    this.#blobs = blobs;
    this.#spoolPath = spoolPath;
    this.#activities = activities;
  }

  async #visibleMailboxIds(uow: UnitOfWork): Promise<string[]> {
    const rows = await uow.em.find(MailboxSchema, this.#mailboxes.visibleFilter(uow.actor), { fields: ['id'] });
    return rows.map((m) => m.id);
  }

  /** The conversation if its mailbox is visible to the actor (one look-up of that mailbox), else 404. */
  async #find(uow: UnitOfWork, id: string): Promise<Conversation> {
    return (await visibleConversation(uow, this.#mailboxes, id)).conversation;
  }

  list(actor: Actor, q: z.infer<typeof conversationListQuery>) {
    return inTenant(this.#orm, actor, async (uow) => {
      const visible = await this.#visibleMailboxIds(uow);
      const wanted = q.mailboxId === undefined ? null : [...new Set([q.mailboxId].flat())];
      // A mailbox the actor does not see is answered like one that does not exist.
      if (wanted?.some((id) => !visible.includes(id))) throw notFound('Mailbox');
      const mailboxes = `{${(wanted ?? visible).join(',')}}`;
      const where: string[] = ['c.tenant_id = ?', 'c.mailbox_id = any(?::uuid[])'];
      const params: unknown[] = [actor.tenantId, mailboxes];
      const add = (clause: string, ...values: unknown[]) => {
        where.push(clause);
        params.push(...values);
      };
      if (q.q) {
        const words = prefixQuery(q.q);
        if (!words)
          throw new HttpError(400, 'validation_failed', 'The request query is not valid', {
            q: 'must contain a letter or a digit',
          });
        add('c.id in (select filo_conversation_search(?, ?::uuid[]))', words, mailboxes);
      }
      if (q.status) add('c.status = ?', q.status);
      if (q.assignee === 'me') add('c.assignee_id = ?', actor.userId);
      else if (q.assignee === 'none') where.push('c.assignee_id is null');
      else if (q.assignee) add('c.assignee_id = ?', q.assignee);
      if (q.contactId) add('c.contact_id = ?', q.contactId);
      if (q.companyId) add('c.company_id = ?', q.companyId);
      if (q.tag) add('? = any(c.tags)', q.tag);
      if (q.unread === 'true') add(UNREAD_SQL, actor.userId, actor.userId);
      if (q.unread === 'false') add(`not ${UNREAD_SQL}`, actor.userId, actor.userId);
      if (q.cursor) {
        const c = decodeCursor(q.cursor);
        add('(c.last_message_at, c.id) < (?::timestamptz, ?::uuid)', c.at, c.id);
      }
      params.unshift(actor.userId, actor.userId);
      params.push(q.limit + 1);
      const rows = (await uow.em.execute(
        `select c.id, c.channel, c.mailbox_id, c.subject, c.status, c.assignee_id, c.tags, c.participants, c.contact_id,
                c.company_id, c.message_count, c.last_message_at, c.version, c.snoozed_until, c.related_conversation_id,
                ${UNREAD_SQL} as unread,
                nullif(trim(ct.first_name || ' ' || ct.last_name), '') as contact_name, co.name as company_name,
                last.text as last_text, coalesce(nullif(last.from_name, ''), last.from_address) as last_from
           from conversations c
           left join contacts ct on ct.id = c.contact_id
           left join companies co on co.id = c.company_id
           left join lateral (select text, from_name, from_address from messages m
                               where m.conversation_id = c.id order by m.created_at desc limit 1) last on true
          where ${where.join(' and ')}
          order by c.last_message_at desc, c.id desc
          limit ?`,
        params,
      )) as Record<string, unknown>[];
      const page = rows.slice(0, q.limit);
      const items: ConversationDto[] = page.map((r) => ({
        id: r.id as string,
        channel: r.channel as Channel,
        mailboxId: r.mailbox_id as string,
        subject: r.subject as string,
        status: r.status as string,
        assigneeId: (r.assignee_id as string | null) ?? null,
        tags: r.tags as string[],
        participants: r.participants as string[],
        contactId: (r.contact_id as string | null) ?? null,
        companyId: (r.company_id as string | null) ?? null,
        contactName: (r.contact_name as string | null) ?? null,
        companyName: (r.company_name as string | null) ?? null,
        messageCount: r.message_count as number,
        lastMessageAt: new Date(r.last_message_at as string),
        snippet: String(r.last_text ?? '')
          .replace(/\s+/g, ' ')
          .trim()
          .slice(0, 160),
        lastFrom: (r.last_from as string | null) ?? null,
        snoozedUntil: r.snoozed_until ? new Date(r.snoozed_until as string) : null,
        relatedConversationId: (r.related_conversation_id as string | null) ?? null,
        unread: Boolean(r.unread),
        version: r.version as number,
      }));
      const last = page.at(-1);
      return {
        items,
        nextCursor:
          rows.length > q.limit && last
            ? encodeCursor(new Date(last.last_message_at as string), last.id as string)
            : null,
      };
    });
  }

  get(actor: Actor, id: string): Promise<{ conversation: Conversation; messages: Message[] }> {
    return inTenant(this.#orm, actor, async (uow) => {
      const conversation = await this.#find(uow, id);
      const messages = await uow.em.find(MessageSchema, { conversationId: id }, { orderBy: { createdAt: 'asc' } });
      return { conversation, messages };
    });
  }

  async #message(uow: UnitOfWork, id: string): Promise<Message> {
    const message = await uow.em.findOne(MessageSchema, { id });
    if (!message) throw notFound('Message');
    await this.#find(uow, message.conversationId);
    return message;
  }

  /** The message as it arrived, byte for byte. */
  raw(actor: Actor, id: string) {
    return inTenant(this.#orm, actor, async (uow) => {
      const message = await this.#message(uow, id);
      if (!message.inboundMessageId) throw notFound('Raw message');
      const inbound = await uow.em.findOne(InboundMessageSchema, { id: message.inboundMessageId });
      if (!inbound?.spoolKey) throw notFound('Raw message');
      return { path: this.#spoolPath(inbound.spoolKey), size: inbound.size };
    });
  }

  /** An attachment of a message, by document id or by Content-ID (for `cid:` images). */
  attachment(actor: Actor, messageId: string, by: { documentId?: string; cid?: string }) {
    return inTenant(this.#orm, actor, async (uow) => {
      const message = await this.#message(uow, messageId);
      const meta = message.attachments.find((a) =>
        by.documentId ? a.documentId === by.documentId : a.cid !== null && a.cid === by.cid,
      );
      if (!meta) throw notFound('Attachment');
      const doc = await uow.em.findOne(DocumentSchema, { id: meta.documentId });
      if (!doc) throw notFound('Attachment');
      return { meta, stream: this.#blobs.open(doc.fileUrl.replace(/^blob:/, '')) };
    });
  }

  /** Messages that could not be processed (admins): each keeps its raw form and can be retried. */
  failed(actor: Actor): Promise<InboundMessage[]> {
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async (uow) =>
      uow.em.find(
        InboundMessageSchema,
        // Not those of a private mailbox (a member's own account) the admin is not in.
        { status: 'failed', mailboxId: { $in: await this.#visibleMailboxIds(uow) } },
        { orderBy: { createdAt: 'desc' }, limit: 200 },
      ),
    );
  }

  inbound(actor: Actor, id: string) {
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const row = await em.findOne(InboundMessageSchema, {
        id,
        mailboxId: { $in: await this.#visibleMailboxIds(uow) },
      });
      // a message fetched from an account has no raw copy here until its body is fetched
      if (!row?.spoolKey) throw notFound('Inbound message');
      return { row, path: this.#spoolPath(row.spoolKey) };
    });
  }

  /** Marks a failed message for another try and queues its job, in one transaction. */
  retryInbound(actor: Actor, id: string, queue: JobQueue): Promise<InboundMessage> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async (uow) => {
      const visible = await this.#visibleMailboxIds(uow);
      const row = await uow.em.findOne(InboundMessageSchema, { id, mailboxId: { $in: visible } });
      if (!row) throw notFound('Inbound message');
      if (row.status === 'processed') throw new HttpError(409, 'already_processed', 'This message was processed');
      row.status = 'received';
      await uow.em.flush();
      const job: InboundJob = { inboundId: row.id, tenantId: row.tenantId };
      await queue.send(INBOUND_QUEUE, job, { uow });
      return row;
    });
  }

  /** Marks a conversation read for this user, up to its newest message (mirrored to accounts that ask for it). */
  markRead(actor: Actor, id: string, queue: JobQueue): Promise<{ id: string; unread: false; lastReadAt: Date }> {
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#find(uow, id);
      const [row] = (await uow.em.execute(
        `insert into conversation_reads (id, tenant_id, user_id, conversation_id, last_read_at)
         values (gen_random_uuid(), ?, ?, ?,
                 coalesce((select max(created_at) from messages where tenant_id = ? and conversation_id = ?), now()))
         on conflict (tenant_id, user_id, conversation_id)
           do update set last_read_at = greatest(conversation_reads.last_read_at, excluded.last_read_at)
         returning last_read_at`,
        [actor.tenantId, actor.userId, id, actor.tenantId, id],
      )) as { last_read_at: string }[];
      await mirrorReadState(uow, queue, id);
      return { id, unread: false as const, lastReadAt: new Date(row!.last_read_at) };
    });
  }

  /** Counts for the inbox's sidebar: Mine / Unassigned / All, per mailbox, per status; with unread. */
  counts(actor: Actor, q: z.infer<typeof conversationCountsQuery>): Promise<InboxCounts> {
    return inTenant(this.#orm, actor, async (uow) => {
      const visible = await this.#visibleMailboxIds(uow);
      const rows = (await uow.em.execute(
        `select c.mailbox_id, c.status, c.assignee_id = ?::uuid as mine, c.assignee_id is null as unassigned,
                ${UNREAD_SQL} as unread
           from conversations c
          where c.tenant_id = ? and c.mailbox_id = any(?::uuid[])`,
        [actor.userId, actor.userId, actor.userId, actor.tenantId, `{${visible.join(',')}}`],
      )) as { mailbox_id: string; status: string; mine: boolean; unassigned: boolean; unread: boolean }[];
      const zero = () => ({ total: 0, unread: 0 });
      const counts: InboxCounts = {
        views: { mine: zero(), unassigned: zero(), all: zero() },
        mailboxes: Object.fromEntries(visible.map((id) => [id, zero()])),
        statuses: { open: 0, pending: 0, closed: 0, snoozed: 0 },
      };
      const bump = (n: { total: number; unread: number }, unread: boolean) => {
        n.total++;
        if (unread) n.unread++;
      };
      for (const r of rows) {
        counts.statuses[r.status as keyof InboxCounts['statuses']]++;
        if (q.status && r.status !== q.status) continue;
        bump(counts.views.all, r.unread);
        if (r.mine) bump(counts.views.mine, r.unread);
        if (r.unassigned) bump(counts.views.unassigned, r.unread);
        bump((counts.mailboxes[r.mailbox_id] ??= zero()), r.unread);
      }
      return counts;
    });
  }

  /** The conversation's own activities after `after` (for `record:watch`), once the actor may see it. */
  timeline(actor: Actor, id: string, after: number, limit: number): Promise<ActivityDto[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#find(uow, id);
      return this.#activities.timelineIn(uow, {
        entityType: 'conversation',
        entityId: id,
        after,
        limit,
        ascending: true,
      });
    });
  }
}
