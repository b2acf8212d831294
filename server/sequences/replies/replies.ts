import type { SequenceSettings, StopReason } from '#contracts/sequences';
import type { ConsentService } from '../../consent/consent.service.ts';
import type { FeedbackEvent } from '../../delivery/bulk/feedback.ts';
import type { NotificationsService } from '../../timeline/notifications.service.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import { asksToStop, returnDate } from './reply-text.ts';
import type { SequenceReputation } from './reputation.ts';

/** The engine's stop (services.sequenceEngine): stops a prospect's active or paused enrolments and their queued sends. */
export interface SequenceStopper {
  stop(
    uow: UnitOfWork,
    target: { enrolmentId: string } | { contactId: string },
    reason: StopReason,
    now?: Date,
  ): Promise<number>;
}

/** An out-of-office without a return date holds the prospect's next step this long (they are away, not gone). */
export const OOO_DELAY_DAYS = 3;

interface SendContext {
  enrolment_id: string | null;
  enrolment_status: string | null;
  next_run_at: Date | null;
  sequence_id: string;
  sequence_name: string;
  settings: SequenceSettings;
  owner_id: string | null;
  contact_id: string | null;
  contact_name: string | null;
  company_id: string | null;
  email_bounced_at: Date | null;
  mailbox_id: string | null;
}

/**
 * How a sequence hears its prospects (the bulk engine's feedback listener of source `sequence`): a person's reply
 * stops every pending step of theirs, marks the enrolment replied and tells the sequence's owner (and suppresses the
 * address when the reply asks to stop); an out-of-office only holds the next step a few days; a hard bounce, a
 * complaint or an unsubscribe stops too, and bounces and complaints re-check the sending domain's reputation.
 */
export class SequenceReplies {
  readonly #consent: ConsentService;
  readonly #notifications: NotificationsService;
  readonly #reputation: SequenceReputation;
  /** Set once the engine exists (it is built after this). */
  engine: SequenceStopper | null = null;

  constructor(deps: { consent: ConsentService; notifications: NotificationsService; reputation: SequenceReputation }) {
    this.#consent = deps.consent;
    this.#notifications = deps.notifications;
    this.#reputation = deps.reputation;
  }

  /** The listener given to `bulk.onFeedback('sequence', …)`. */
  readonly listener = (uow: UnitOfWork, event: FeedbackEvent): Promise<void> => this.handle(uow, event, new Date());

  async handle(uow: UnitOfWork, event: FeedbackEvent, now: Date): Promise<void> {
    const send = await this.#context(uow, event.sendId);
    if (!send) return;
    switch (event.kind) {
      case 'replied':
        return this.#replied(uow, event, send, now);
      case 'auto_replied':
        return this.#away(uow, event, send, now);
      case 'bounced':
        await this.#stop(uow, send, 'bounced', now);
        if (event.atSend) await this.#markBounced(uow, send, event.address, now);
        return this.#checkDomain(uow, send, now);
      case 'complained':
        await this.#stop(uow, send, 'complained', now);
        return this.#checkDomain(uow, send, now);
      case 'unsubscribed':
        return void (await this.#stop(uow, send, 'unsubscribed', now));
    }
  }

  /** The send's step, sequence and the prospect's enrolment in it (the live one first, else the latest). */
  async #context(uow: UnitOfWork, sendId: string): Promise<SendContext | null> {
    const [row] = (await uow.em.execute(
      `select e.id as enrolment_id, e.status as enrolment_status, e.next_run_at, q.id as sequence_id,
              q.name as sequence_name, q.settings, coalesce(q.owner_id, q.created_by) as owner_id, b.contact_id,
              nullif(trim(c.first_name || ' ' || c.last_name), '') as contact_name, c.company_id,
              c.email_bounced_at, b.mailbox_id
         from bulk_sends b
         join sequence_steps st on st.id = b.source_id
         join sequences q on q.id = st.sequence_id
         left join contacts c on c.id = b.contact_id
         left join lateral (select * from sequence_enrolments e
                             where e.sequence_id = q.id and e.contact_id = b.contact_id
                             order by e.status in ('active', 'paused') desc, e.created_at desc limit 1) e on true
        where b.id = ? and b.tenant_id = ? and b.source = 'sequence'`,
      [sendId, uow.actor.tenantId],
    )) as SendContext[];
    return row ?? null;
  }

  async #replied(uow: UnitOfWork, event: FeedbackEvent, send: SendContext, now: Date): Promise<void> {
    if (send.enrolment_id)
      await uow.em.execute(
        `update sequence_enrolments set replied_at = coalesce(replied_at, ?), updated_at = now() where id = ?`,
        [now, send.enrolment_id],
      );
    const stop = event.mail ? asksToStop(event.mail) : false;
    if (stop && event.address)
      await this.#consent.set(uow, {
        channel: 'email',
        address: event.address,
        listId: null,
        status: 'unsubscribed',
        source: 'stop',
        contactId: send.contact_id,
        evidence: { userAgent: `reply to a sequence: ${(event.mail?.subject ?? '').slice(0, 200)}` },
      });
    if (send.settings?.stopOnReply !== false) await this.#stop(uow, send, 'replied', now);
    else if (stop) await this.#stop(uow, send, 'unsubscribed', now);
    if (send.owner_id && send.enrolment_id) {
      const contactName = send.contact_name ?? event.address ?? 'A prospect';
      await this.#notifications.create(uow, send.owner_id, {
        type: 'sequence_reply',
        title: `${contactName} replied to ${send.sequence_name}`,
        data: {
          sequenceId: send.sequence_id,
          sequenceName: send.sequence_name,
          contactName,
          enrolmentId: send.enrolment_id,
        },
        body: event.mail?.subject ?? null,
        ...(send.contact_id ? { entityType: 'contact', entityId: send.contact_id } : {}),
      });
    }
  }

  /** Away: the next step waits for the return date it names, or a few days; the sequence goes on after. */
  async #away(uow: UnitOfWork, event: FeedbackEvent, send: SendContext, now: Date): Promise<void> {
    if (!send.enrolment_id || send.enrolment_status !== 'active' || !send.next_run_at) return;
    const back = (event.mail && returnDate(event.mail, now)) ?? new Date(now.getTime() + OOO_DELAY_DAYS * 86_400_000);
    await uow.em.execute(
      `update sequence_enrolments set next_run_at = greatest(next_run_at, ?::timestamptz), updated_at = now()
        where id = ? and status = 'active' and next_run_at is not null`,
      [back.toISOString(), send.enrolment_id],
    );
  }

  async #stop(uow: UnitOfWork, send: SendContext, reason: StopReason, now: Date): Promise<void> {
    if (!send.contact_id) return;
    if (!this.engine) throw new Error('the sequence engine is not wired: a reply cannot stop its prospect');
    await this.engine.stop(uow, { contactId: send.contact_id }, reason, now);
  }

  /** A refusal at send time: the contact's address is marked bouncing, as a DSN's bounce marks it. */
  async #markBounced(uow: UnitOfWork, send: SendContext, address: string | null, now: Date): Promise<void> {
    if (!send.contact_id || send.email_bounced_at || !address) return;
    // only a refusal of the address (5.1.x, 5.7.x: the engine suppressed it), not of the message (too large)
    const [refused] = (await uow.em.execute(
      `select 1 from consents where channel = 'email' and address_hash = ? and list_id is null and status = 'bounced'`,
      [this.#consent.hash('email', address)],
    )) as unknown[];
    if (!refused) return;
    await uow.em.execute(
      `update contacts set email_bounced_at = ?, email_bounce_reason = coalesce(email_bounce_reason, ?)
        where id = ? and email_bounced_at is null`,
      [now, 'Refused by the recipient server', send.contact_id],
    );
  }

  async #checkDomain(uow: UnitOfWork, send: SendContext, now: Date): Promise<void> {
    if (!send.mailbox_id) return;
    const boxes = this.#reputation.mailboxDomains(uow.actor.tenantId);
    const [box] = (await uow.em.execute(`with boxes as (${boxes.sql}) select domain from boxes where id = ?`, [
      ...boxes.params,
      send.mailbox_id,
    ])) as { domain: string }[];
    if (box) await this.#reputation.check(uow, now, box.domain);
  }
}
