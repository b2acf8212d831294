import type { MeetingParticipant } from '#contracts/meetings';
import type { VideoMeeting } from '../../db/entities/video-meeting.entity.ts';
import type { UnitOfWork } from '../tenancy.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { meetingDtos } from './meetings.common.ts';

const memberIds = (participants: MeetingParticipant[]) =>
  participants.flatMap((p) => (p.type === 'user' && p.userId ? [p.userId] : []));

/**
 * What teammates see of a meeting without reloading: the meeting itself on their Meetings page (host and invited
 * members, after commit), and a bell notice for a member newly invited (never for guests: they get mail only).
 */
export class MeetingsLive {
  readonly #publisher: Publisher;
  readonly #notifications: NotificationsService;

  constructor(deps: { publisher: Publisher; notifications: NotificationsService }) {
    this.#publisher = deps.publisher;
    this.#notifications = deps.notifications;
  }

  /** The meeting as it now stands to its host and members; members in `dropped` learn they are off its list. */
  async announce(uow: UnitOfWork, m: VideoMeeting, dropped: MeetingParticipant[] = []): Promise<void> {
    const [dto] = await meetingDtos(uow, [m]);
    const members = [...new Set([m.hostUserId, ...memberIds(m.participants)])];
    const gone = [...new Set(memberIds(dropped))].filter((id) => !members.includes(id));
    const { tenantId } = m;
    uow.afterCommit(() => {
      this.#publisher.meeting(tenantId, members, dto!, false);
      if (gone.length) this.#publisher.meeting(tenantId, gone, dto!, true);
    });
  }

  /** A bell notice (live) to each member in `invited`, except whoever is inviting and the host. */
  async notifyInvited(uow: UnitOfWork, m: VideoMeeting, invited: MeetingParticipant[]): Promise<void> {
    const who = uow.actor.userName;
    for (const userId of new Set(memberIds(invited))) {
      if (userId === uow.actor.userId || userId === m.hostUserId) continue;
      await this.#notifications.create(uow, userId, {
        type: 'meeting_invitation',
        title: `${who} invited you to a video call: ${m.title}`,
        data: { meetingId: m.id, title: m.title, startsAt: m.scheduledAt?.toISOString() ?? null },
        entityType: 'meeting',
        entityId: m.id,
      });
    }
  }
}
