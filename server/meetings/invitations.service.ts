import type { MeetingParticipant } from '#contracts/meetings';
import type { VideoMeeting } from '../../db/entities/video-meeting.entity.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Mailer } from '../delivery/mailer.ts';
import type { SendLimits } from '../outbound/send-limits.ts';
import type { UnitOfWork } from '../tenancy.ts';
import { signGuestToken } from './guest-token.ts';
import { icsCalendar } from './ics.ts';
import { hostOf, icsEvent } from './meetings.common.ts';

/** A guest link stays valid this long after the meeting's planned end. */
const GUEST_LINK_DAYS = 7;

/**
 * The invitees' side of a meeting: invitations and cancellations by mail with an .ics and each one's own link
 * (members sign in, everyone else gets a signed guest link), and guests dropped from the list leaving the call.
 */
export class MeetingInvitations {
  readonly #mailer: Mailer;
  readonly #sendLimits: SendLimits;
  readonly #config: Pick<Config, 'publicUrl' | 'secretKey'>;
  readonly #log: Logger;

  constructor(deps: {
    mailer: Mailer;
    sendLimits: SendLimits;
    config: Pick<Config, 'publicUrl' | 'secretKey'>;
    log: Logger;
  }) {
    this.#mailer = deps.mailer;
    this.#sendLimits = deps.sendLimits;
    this.#config = deps.config;
    this.#log = deps.log;
  }

  /** Guests taken off the list leave the call now: their presence no longer keeps it going. */
  async dropGuests(uow: UnitOfWork, m: VideoMeeting, dropped: MeetingParticipant[]): Promise<void> {
    const contactIds = dropped.flatMap((p) => (p.type === 'contact' && p.contactId ? [p.contactId] : []));
    const emails = dropped.flatMap((p) => (p.type === 'email' && p.email ? [p.email] : []));
    if (!contactIds.length && !emails.length) return;
    await uow.em.execute(
      `update meeting_attendees set left_at = now() where meeting_id = ? and user_id is null and left_at is null
          and (contact_id = any(?::uuid[]) or (contact_id is null and lower(email) = any(?::text[])))`,
      [m.id, `{${contactIds.join(',')}}`, `{${emails.map((e) => JSON.stringify(e)).join(',')}}`],
    );
  }

  /** The link a participant joins with: members sign in, everyone else gets a signed guest link. */
  #joinLink(m: VideoMeeting, p: MeetingParticipant): string {
    if (p.type === 'user') return m.meetingUrl;
    const planned = (m.scheduledAt ?? m.createdAt).getTime() + m.durationMinutes * 60_000;
    const exp = Math.floor(Math.max(planned, Date.now()) / 1000) + GUEST_LINK_DAYS * 86_400;
    const token = signGuestToken(this.#config.secretKey, {
      tenantId: m.tenantId,
      meetingId: m.id,
      name: p.name,
      email: p.email,
      contactId: p.contactId ?? null,
      exp,
    });
    // In the fragment: browsers never send it, so the token stays out of request logs and Referer headers.
    return `${m.meetingUrl}#guest=${token}`;
  }

  /**
   * Invitations (REQUEST) to `to`, cancellations (CANCEL) to `cancelled`, each with the participant's own link;
   * sent after the commit, so that nobody is invited to a meeting that does not exist.
   */
  async send(
    uow: UnitOfWork,
    m: VideoMeeting,
    what: 'new' | 'update' | 'cancel',
    to: MeetingParticipant[],
    cancelled: MeetingParticipant[],
  ): Promise<void> {
    const host = await hostOf(uow, m);
    const everyone = m.participants.flatMap((p) => (p.email ? [{ name: p.name, email: p.email }] : []));
    const mails = [
      ...to.map((p) => ({ p, method: 'REQUEST' as const })),
      ...cancelled.map((p) => ({ p, method: 'CANCEL' as const })),
    ]
      .filter(({ p }) => p.email && p.email !== host?.email)
      .map(({ p, method }) => {
        const link = this.#joinLink(m, p);
        const event = icsEvent(
          this.#config.publicUrl,
          { ...m, status: method === 'CANCEL' ? 'cancelled' : m.status },
          host,
          link,
          method === 'CANCEL' ? [{ name: p.name, email: p.email! }] : everyone,
        );
        const when = `${(m.scheduledAt ?? m.createdAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
        const subject =
          method === 'CANCEL'
            ? `Cancelled: ${m.title}`
            : `${what === 'update' ? 'Updated invitation' : 'Invitation'}: ${m.title} · ${when}`;
        const text =
          method === 'CANCEL'
            ? `${host?.name ?? 'The host'} cancelled the video call "${m.title}" of ${when}.`
            : [
                `${host?.name ?? 'Your host'} invites you to a video call: ${m.title}`,
                `When: ${when} (${m.durationMinutes} min)`,
                m.notes,
                `Join: ${link}`,
              ]
                .filter(Boolean)
                .join('\n\n');
        return {
          to: p.email!,
          subject,
          text,
          icalEvent: { method, filename: 'invite.ics', content: icsCalendar({ method, events: [event] }) },
        };
      });
    if (!mails.length) return;
    // Invitations are mail the workspace makes Filo send to addresses it chooses: its budget caps them.
    const invitations = mails.filter((mail) => mail.icalEvent.method === 'REQUEST').length;
    if (invitations) this.#sendLimits.take(m.tenantId, 'meeting', invitations);
    uow.afterCommit(() => {
      void (async () => {
        for (const mail of mails) {
          await this.#mailer.send(mail, { tenantId: m.tenantId }).catch((err: unknown) => {
            this.#log.error({ err, meetingId: m.id, to: mail.to }, 'meeting invitation not sent');
          });
        }
      })();
    });
  }
}
