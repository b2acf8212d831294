import { LockMode } from '@mikro-orm/core';
import type { ConsentSource } from '#contracts/consent';
import type { SendSource, StatCounter } from '#contracts/delivery';
import { ContactSchema } from '../../../db/entities/contact.entity.ts';
import type { ConsentEvidence, ConsentService } from '../../consent/consent.service.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import { bumpStats } from './stats.ts';

/** What a recipient (or their server) said about a send row, as a source's listener hears it. */
export type FeedbackKind = 'replied' | 'auto_replied' | 'bounced' | 'complained' | 'unsubscribed';
export interface FeedbackEvent {
  kind: FeedbackKind;
  sendId: string;
  source: SendSource;
  sourceId: string;
  contactId: string | null;
  address: string | null;
  /** The reply's own words (replied, auto_replied), bounded: what a listener may read for "stop" or a return date. */
  mail?: { from: string | null; subject: string; text: string };
  /** bounced: refused by the recipient's server at send time (5xx) rather than reported later by a DSN. */
  atSend?: boolean;
}
export type FeedbackListener = (uow: UnitOfWork, event: FeedbackEvent) => Promise<void>;

/** Listeners per source, called in the transaction that marked the row (a source reacts to its own mail). */
export class FeedbackListeners {
  readonly #bySource = new Map<SendSource, FeedbackListener[]>();

  on(source: SendSource, listener: FeedbackListener): void {
    this.#bySource.set(source, [...(this.#bySource.get(source) ?? []), listener]);
  }

  async emit(uow: UnitOfWork, event: FeedbackEvent): Promise<void> {
    for (const listener of this.#bySource.get(event.source) ?? []) await listener(uow, event);
  }
}

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
  opts: { source: ConsentSource; evidence?: ConsentEvidence; listeners?: FeedbackListeners | null },
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
      await consent.set(uow, {
        channel: 'email',
        address: row.address,
        listId,
        status: 'unsubscribed',
        source: opts.source,
        contactId: row.contact_id,
        evidence: opts.evidence,
      });
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
    await opts.listeners?.emit(uow, { kind: 'unsubscribed', ...event(row) });
  }
  return { sendId: row.id, address: row.address, contactId: row.contact_id, listIds, first };
}

/** The columns of a send row the feedback handlers read (locked for the change). */
interface FeedbackRow {
  id: string;
  tenant_id: string;
  source: SendSource;
  source_id: string;
  contact_id: string | null;
  address: string | null;
  variant: string | null;
  status: string;
  bounced_at: Date | null;
  complained_at: Date | null;
  replied_at: Date | null;
  unsubscribed_at: Date | null;
}

/** A row the handler changed, or why it did not. */
export type FeedbackResult =
  | { changed: true; sendId: string; address: string | null; contactId: string | null }
  | { changed: false; reason: 'not_found' | 'already' | 'soft' };

/**
 * What a hard bounce does to a row in each status (delivered = sent - bounced stays true in every order): a sent row
 * becomes bounced; a row still `sending` keeps its status, since the engine's answer for it (which only writes rows
 * in `sending`) records and counts it sent, and so finishes the source; a row waiting (pending, deferred: an
 * earlier attempt was accepted but not recorded) was sent, and must not be sent again. A row failed, suppressed
 * or cancelled was never counted sent: it keeps its status and its counters (the address is still suppressed).
 */
const BOUNCE_MOVES: Record<string, { status: string; counters: Partial<Record<StatCounter, number>> } | undefined> = {
  sent: { status: 'bounced', counters: { bounced: 1 } },
  sending: { status: 'sending', counters: { bounced: 1 } },
  pending: { status: 'bounced', counters: { sent: 1, bounced: 1 } },
  deferred: { status: 'bounced', counters: { sent: 1, bounced: 1, deferred: -1 } },
};

/** A text[] literal (a bare array parameter would be expanded into a list). */
const pgArray = (values: string[]) => `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;

/**
 * What recipients and their servers say back about bulk mail, one place for every source: a hard bounce, a spam
 * complaint, an unsubscribe by mail or by link, a reply. Each handler changes a send row once (a report delivered
 * twice changes nothing), in the caller's transaction, and keeps counters, suppression and the timeline in step.
 *
 * Counters: a bounce reported after acceptance adds `bounced` and leaves `sent` as it is, so reports read
 * delivered = sent - bounced, whatever the order of the report and the engine's own record (BOUNCE_MOVES).
 */
export class BulkFeedback {
  readonly #consent: ConsentService;
  readonly #activities: ActivitiesService;
  /** The sources' listeners (the engine's `onFeedback`), set when the engine exists. */
  listeners: FeedbackListeners | null = null;

  constructor(deps: { consent: ConsentService; activities: ActivitiesService }) {
    this.#consent = deps.consent;
    this.#activities = deps.activities;
  }

  async #row(uow: UnitOfWork, sendId: string): Promise<FeedbackRow | null> {
    const rows = (await uow.em.execute(
      `select id, tenant_id, source, source_id, contact_id, address, variant, status, bounced_at, complained_at,
              replied_at, unsubscribed_at
         from bulk_sends where id = ? and tenant_id = ? for update`,
      [sendId, uow.actor.tenantId],
    )) as FeedbackRow[];
    return rows[0] ?? null;
  }

  /** The send rows whose Message-ID is one of these (a reply's In-Reply-To/References, a complaint's original). */
  async findByMessageIds(uow: UnitOfWork, messageIds: string[]): Promise<string[]> {
    const ids = [...new Set(messageIds.filter((id) => id && id.length <= 998))].slice(0, 100);
    if (!ids.length) return [];
    const rows = (await uow.em.execute(
      `select id from bulk_sends where tenant_id = ? and message_id = any(?::text[]) order by created_at limit 20`,
      [uow.actor.tenantId, pgArray(ids)],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /**
   * A delivery report about one send: a permanent failure marks the row bounced, suppresses the address for the
   * whole channel, marks the contact's email as bouncing and writes `email.bounced`; a delay only notes it.
   */
  async markBounced(
    uow: UnitOfWork,
    sendId: string,
    report: { permanent: boolean; status: string | null; reason: string | null; inboundId?: string },
  ): Promise<FeedbackResult> {
    const row = await this.#row(uow, sendId);
    if (!row) return { changed: false, reason: 'not_found' };
    if (row.bounced_at) return { changed: false, reason: 'already' };
    const said = (report.reason ?? (report.status ? `Status ${report.status}` : 'Bounced')).slice(0, 2000);
    if (!report.permanent) {
      await uow.em.execute(`update bulk_sends set last_response = ? where id = ?`, [`Delayed: ${said}`, row.id]);
      return { changed: false, reason: 'soft' };
    }
    const move = BOUNCE_MOVES[row.status];
    await uow.em.execute(
      `update bulk_sends set bounced_at = now(), last_response = ?, status = ?,
              sent_at = case when ? then coalesce(sent_at, now()) else sent_at end
        where id = ?`,
      [said, move ? move.status : row.status, Boolean(move?.counters.sent), row.id],
    );
    await bumpStats(uow.em, statKey(row), move ? move.counters : {});
    if (row.address)
      await this.#consent.set(uow, {
        channel: 'email',
        address: row.address,
        listId: null,
        status: 'bounced',
        source: 'bounce',
        contactId: row.contact_id,
      });
    const contact = row.contact_id
      ? await uow.em.findOne(
          ContactSchema,
          { id: row.contact_id },
          { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
        )
      : null;
    if (contact) {
      contact.emailBouncedAt = new Date();
      contact.emailBounceReason = said.slice(0, 500);
      await uow.em.flush();
      await this.#activities.record(uow, {
        entityType: 'contact',
        entityId: contact.id,
        companyId: contact.companyId ?? null,
        type: 'email.bounced',
        title: `Mail to ${row.address ?? contact.email ?? 'the contact'} bounced`,
        data: {
          to: row.address,
          status: report.status,
          action: 'failed',
          reason: said.slice(0, 300),
          ...(report.inboundId ? { inboundId: report.inboundId } : {}),
          ...refs(row),
        },
        mailboxId: null,
      });
    }
    await this.listeners?.emit(uow, { kind: 'bounced', ...event(row) });
    return { changed: true, sendId: row.id, address: row.address, contactId: row.contact_id };
  }

  /** A spam complaint (ARF) about one send: marked once, the address suppressed, `email.complained` written. */
  async markComplained(
    uow: UnitOfWork,
    sendId: string,
    report: { feedbackType: string | null; inboundId?: string },
  ): Promise<FeedbackResult> {
    const row = await this.#row(uow, sendId);
    if (!row) return { changed: false, reason: 'not_found' };
    if (row.complained_at) return { changed: false, reason: 'already' };
    await uow.em.execute(`update bulk_sends set complained_at = now() where id = ?`, [row.id]);
    await bumpStats(uow.em, statKey(row), { complained: 1 });
    if (row.address)
      await this.#consent.set(uow, {
        channel: 'email',
        address: row.address,
        listId: null,
        status: 'complained',
        source: 'complaint',
        contactId: row.contact_id,
      });
    await this.#contactActivity(uow, row, {
      type: 'email.complained',
      title: `${row.address ?? 'The recipient'} marked a bulk message as spam`,
      data: {
        to: row.address,
        feedbackType: report.feedbackType?.slice(0, 100) ?? null,
        ...(report.inboundId ? { inboundId: report.inboundId } : {}),
        ...refs(row),
      },
    });
    await this.listeners?.emit(uow, { kind: 'complained', ...event(row) });
    return { changed: true, sendId: row.id, address: row.address, contactId: row.contact_id };
  }

  /** A person's reply to a send: `replied_at` once and the `replied` counter (the A/B "replies" metric). */
  async markReplied(uow: UnitOfWork, sendId: string, mail?: FeedbackEvent['mail']): Promise<FeedbackResult> {
    const row = await this.#row(uow, sendId);
    if (!row) return { changed: false, reason: 'not_found' };
    if (row.replied_at) return { changed: false, reason: 'already' };
    await uow.em.execute(`update bulk_sends set replied_at = now() where id = ?`, [row.id]);
    await bumpStats(uow.em, statKey(row), { replied: 1 });
    await this.listeners?.emit(uow, { kind: 'replied', ...event(row), ...(mail ? { mail } : {}) });
    return { changed: true, sendId: row.id, address: row.address, contactId: row.contact_id };
  }

  /** An out-of-office about a send: nothing is marked (it is no reply), only the source's listeners hear it. */
  async autoReplied(uow: UnitOfWork, sendId: string, mail?: FeedbackEvent['mail']): Promise<FeedbackResult> {
    const row = await this.#row(uow, sendId);
    if (!row) return { changed: false, reason: 'not_found' };
    await this.listeners?.emit(uow, { kind: 'auto_replied', ...event(row), ...(mail ? { mail } : {}) });
    return { changed: true, sendId: row.id, address: row.address, contactId: row.contact_id };
  }

  /** The mailto of List-Unsubscribe: the same as the one-click link (unsubscribeSend), its evidence the sender. */
  async unsubscribeByMail(uow: UnitOfWork, sendId: string, from: string | null): Promise<FeedbackResult> {
    const done = await unsubscribeSend(
      uow,
      sendId,
      {
        source: 'one_click',
        evidence: { userAgent: from ? `mailto unsubscribe from ${from}`.slice(0, 500) : 'mailto unsubscribe' },
        listeners: this.listeners,
      },
      this.#consent,
    );
    if (!done) return { changed: false, reason: 'not_found' };
    if (!done.first) return { changed: false, reason: 'already' };
    return { changed: true, sendId: done.sendId, address: done.address, contactId: done.contactId };
  }

  async #contactActivity(
    uow: UnitOfWork,
    row: FeedbackRow,
    entry: { type: 'email.complained'; title: string; data: Record<string, unknown> },
  ) {
    if (!row.contact_id) return;
    const contact = await uow.em.findOne(ContactSchema, { id: row.contact_id });
    if (!contact) return;
    await this.#activities.record(uow, {
      entityType: 'contact',
      entityId: contact.id,
      companyId: contact.companyId ?? null,
      type: entry.type,
      title: entry.title,
      data: entry.data,
      mailboxId: null,
    });
  }
}

const statKey = (row: FeedbackRow) => ({
  tenantId: row.tenant_id,
  source: row.source,
  sourceId: row.source_id,
  variant: row.variant,
});

const refs = (row: FeedbackRow) => ({
  campaignId: row.source === 'campaign' ? row.source_id : null,
  sendId: row.id,
});

const event = (row: Pick<FeedbackRow, 'id' | 'source' | 'source_id' | 'contact_id' | 'address'>) => ({
  sendId: row.id,
  source: row.source,
  sourceId: row.source_id,
  contactId: row.contact_id,
  address: row.address,
});
