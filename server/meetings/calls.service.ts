import type { HeartbeatAnswer, JoinInfo, LeaveAnswer, LobbyView } from '#contracts/meetings';
import type { MikroORM } from '../../db/orm.ts';
import { MeetingAttendeeSchema } from '../../db/entities/meeting-attendee.entity.ts';
import { UserSchema } from '../../db/entities/user.entity.ts';
import { VideoMeetingSchema, type VideoMeeting } from '../../db/entities/video-meeting.entity.ts';
import type { Config } from '../config.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { truncateGraphemes } from '../text.ts';
import type { GuestClaims } from './guest-token.ts';
import { signJitsiJwt } from './jitsi-jwt.ts';
import { invitedGuest, joinWindow, lobbyView, removed, resolveJoiner, type Joiner } from './call-access.ts';
import { HEARTBEAT_SECONDS, activeCount, completeCall } from './call-end.ts';
import type { MeetingsLive } from './meetings.live.ts';
import {
  findLockedMeeting,
  lockMeeting,
  requireHost,
  linkedRecord,
  target,
  activityData,
  meetingDtos,
  type MeetingDto,
} from './meetings.common.ts';

export { HEARTBEAT_SECONDS, HEARTBEAT_TIMEOUT_SECONDS, completedSummary } from './call-end.ts';
export { JOIN_EARLY_MINUTES, JOIN_LATE_MINUTES, joinWindow, type Joiner } from './call-access.ts';

/**
 * The call itself: joining (members and guests, within the meeting's time and list), presence reported by the call
 * page, and the end of the call, which records what happened and posts it to the timeline in one transaction.
 */
export class MeetingCalls {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;
  readonly #config: Pick<Config, 'publicUrl' | 'secretKey' | 'jitsi'>;
  readonly #live: MeetingsLive;

  constructor(deps: {
    orm: MikroORM;
    activities: ActivitiesService;
    config: Pick<Config, 'publicUrl' | 'secretKey' | 'jitsi'>;
    live: MeetingsLive;
  }) {
    this.#orm = deps.orm;
    this.#activities = deps.activities;
    this.#config = deps.config;
    this.#live = deps.live;
  }

  /** The meeting as the call page shows it before joining; guests see no CRM data. */
  async lobby(who: Joiner, id: string): Promise<LobbyView> {
    const { actor, claims } = this.#resolve(who, id);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await uow.em.findOne(VideoMeetingSchema, { id });
      if (!m) throw notFound('Meeting');
      if (claims && !invitedGuest(m, claims)) throw removed();
      return lobbyView(uow, m, claims);
    });
  }

  /**
   * Where and how to connect, and a presence that counts once the page reports it really joined
   * ({@link connected}): opening the page, or a video library that fails to load, starts nothing.
   */
  join(who: Joiner, id: string): Promise<JoinInfo> {
    const { actor, claims } = this.#resolve(who, id);
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const m = await lockMeeting(uow, id);
      // A link outlives its invitation: the meeting's list as it stands now decides.
      if (claims && !invitedGuest(m, claims)) throw removed();
      if (m.status === 'completed' || m.status === 'cancelled')
        throw new HttpError(
          409,
          `meeting_${m.status}`,
          `This meeting is ${m.status === 'completed' ? 'over' : 'cancelled'}`,
        );
      const now = new Date();
      if (m.status === 'scheduled') {
        const { opensAt, closesAt } = joinWindow(m);
        const host = !claims && m.hostUserId === actor.userId;
        if (!host && now < opensAt)
          throw new HttpError(409, 'meeting_too_early', `This call opens at ${opensAt.toISOString()}`);
        if (!host && now > closesAt)
          throw new HttpError(409, 'meeting_expired', 'This call was not held at its time and can no longer start');
      }
      let person: { userId: string | null; contactId: string | null; name: string; email: string | null };
      if (claims) {
        person = { userId: null, contactId: claims.contactId, name: claims.name, email: claims.email };
      } else {
        const user = await em.findOne(UserSchema, { id: actor.userId });
        person = {
          userId: actor.userId,
          contactId: null,
          name: user?.name ?? actor.userName,
          email: user?.email ?? null,
        };
      }
      const isHost = !claims && m.hostUserId === actor.userId;
      const attendee = em.create(MeetingAttendeeSchema, {
        tenantId: actor.tenantId,
        meetingId: m.id,
        userId: person.userId,
        contactId: person.contactId,
        name: truncateGraphemes(person.name, 255),
        email: person.email,
        isHost,
        joinedAt: now,
        lastSeenAt: now,
        connectedAt: null,
      });
      await em.flush();
      const { domain, baseUrl, appId, appSecret } = this.#config.jitsi;
      const jwt =
        appId && appSecret
          ? signJitsiJwt({
              appId,
              secret: appSecret,
              domain,
              room: m.roomId,
              user: {
                ...(person.userId ? { id: person.userId } : {}),
                name: person.name,
                email: person.email,
                moderator: isHost,
              },
              ttlSeconds: (m.durationMinutes + 120) * 60,
            })
          : null;
      const xmppDomain = new URL(baseUrl).hostname;
      return {
        attendeeId: attendee.id,
        meeting: await lobbyView(uow, m, claims),
        domain,
        libUrl: `${baseUrl}/libs/lib-jitsi-meet.min.js`,
        serviceUrl: `${baseUrl.replace(/^http/, 'ws')}/xmpp-websocket?room=${encodeURIComponent(m.roomId)}`,
        hosts: { domain: xmppDomain, muc: `conference.${xmppDomain}` },
        roomName: m.roomId,
        displayName: person.name,
        email: person.email,
        moderator: isHost,
        jwt,
        heartbeatSeconds: HEARTBEAT_SECONDS,
      };
    });
  }

  /**
   * The page really joined the call (lib-jitsi-meet's conference joined): the presence counts, and a call that
   * had not started starts now, with `meeting.started` on the timeline.
   */
  connected(who: Joiner, id: string, attendeeId: string): Promise<HeartbeatAnswer> {
    const { actor, claims } = this.#resolve(who, id);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await lockMeeting(uow, id);
      if (claims && !invitedGuest(m, claims)) throw removed();
      const attendee = await this.#attendee(uow, m, attendeeId, claims);
      if (m.status === 'completed' || m.status === 'cancelled')
        throw new HttpError(
          409,
          `meeting_${m.status}`,
          `This meeting is ${m.status === 'completed' ? 'over' : 'cancelled'}`,
        );
      if (attendee.leftAt) throw new HttpError(409, 'attendee_left', 'This presence has left the call: join again');
      const now = new Date();
      if (!attendee.connectedAt) uow.em.assign(attendee, { connectedAt: now, lastSeenAt: now });
      if (m.status === 'scheduled') {
        uow.em.assign(m, { status: 'in_progress', startedAt: now });
        await uow.em.flush();
        const where = await linkedRecord(uow, m);
        await this.#activities.record(uow, {
          ...target(where),
          type: 'meeting.started',
          title: `Video call started: ${m.title}`,
          data: activityData(m),
        });
        await this.#live.announce(uow, m);
      }
      await uow.em.flush();
      return { status: m.status, inCall: true };
    });
  }

  /** The page is still in the call. Answers whether the call goes on, so that a page left alone can leave. */
  heartbeat(who: Joiner, id: string, attendeeId: string): Promise<HeartbeatAnswer> {
    const { actor, claims } = this.#resolve(who, id);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await uow.em.findOne(VideoMeetingSchema, { id });
      if (!m) throw notFound('Meeting');
      if (claims && !invitedGuest(m, claims)) throw removed();
      const attendee = await this.#attendee(uow, m, attendeeId, claims);
      const inCall = m.status === 'in_progress' && !attendee.leftAt;
      if (inCall) {
        attendee.lastSeenAt = new Date();
        await uow.em.flush();
      }
      return { status: m.status, inCall };
    });
  }

  /** Someone left; if nobody is left, the call is over. */
  leave(who: Joiner, id: string, attendeeId: string): Promise<LeaveAnswer> {
    const { actor, claims } = this.#resolve(who, id);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await lockMeeting(uow, id);
      if (claims && !invitedGuest(m, claims)) throw removed();
      const attendee = await this.#attendee(uow, m, attendeeId, claims);
      if (!attendee.leftAt) {
        attendee.leftAt = new Date();
        await uow.em.flush();
      }
      // A page that never got into the call (the video service failed) leaves a call that has not started as it was.
      if (m.status === 'in_progress' && (await activeCount(uow, m)) === 0) {
        await completeCall(uow, this.#activities, m, 'last_left', new Date());
        await this.#live.announce(uow, m);
      }
      return { status: m.status };
    });
  }

  /** The host (or an admin) ends the call for everyone; a call nobody has joined has nothing to end (cancel it). */
  end(actor: Actor, id: string): Promise<MeetingDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await lockMeeting(uow, id);
      requireHost(uow.actor, m);
      if (m.status === 'completed' || m.status === 'cancelled')
        throw new HttpError(409, `meeting_${m.status}`, `The meeting is already ${m.status}`);
      if (m.status === 'scheduled')
        throw new HttpError(409, 'meeting_not_started', 'Nobody has joined this call yet: cancel the meeting instead');
      await completeCall(uow, this.#activities, m, 'host_ended', new Date());
      await this.#live.announce(uow, m);
      return (await meetingDtos(uow, [m]))[0]!;
    });
  }

  /**
   * Called by the heartbeat sweep for a call nobody has reported from lately: ends it, as Filo, if that is
   * still true under the meeting's lock. Returns whether it ended the call.
   */
  expire(tenantId: string, id: string, now = new Date()): Promise<boolean> {
    return inTenant(this.#orm, systemActor(tenantId), async (uow) => {
      const m = await findLockedMeeting(uow, id);
      if (!m || m.status !== 'in_progress' || (await activeCount(uow, m, now)) > 0) return false;
      await completeCall(uow, this.#activities, m, 'timeout', now);
      await this.#live.announce(uow, m);
      return true;
    });
  }

  #resolve(who: Joiner, id: string) {
    return resolveJoiner(this.#config.secretKey, who, id);
  }

  async #attendee(uow: UnitOfWork, m: VideoMeeting, attendeeId: string, claims: GuestClaims | null) {
    const attendee = await uow.em.findOne(MeetingAttendeeSchema, { id: attendeeId, meetingId: m.id });
    // Each presence is reported by whoever joined as it: a member by their user, a guest by their link's invitee.
    const own =
      attendee &&
      (claims
        ? attendee.userId === null &&
          (attendee.contactId ?? null) === claims.contactId &&
          (attendee.email ?? null) === claims.email
        : attendee.userId === uow.actor.userId);
    if (!attendee || !own) throw notFound('Attendee');
    return attendee;
  }
}
