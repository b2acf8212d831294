import type { MikroORM } from '../../db/orm.ts';
import { MeetingAttendeeSchema, type MeetingAttendee } from '../../db/entities/meeting-attendee.entity.ts';
import { NoteSchema } from '../../db/entities/note.entity.ts';
import { UserSchema } from '../../db/entities/user.entity.ts';
import {
  VideoMeetingSchema,
  type MeetingEndReason,
  type MeetingParticipant,
  type VideoMeeting,
} from '../../db/entities/video-meeting.entity.ts';
import type { Config } from '../config.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { truncateGraphemes } from '../text.ts';
import { verifyGuestToken, type GuestClaims } from './guest-token.ts';
import { signJitsiJwt } from './jitsi-jwt.ts';
import {
  lockMeeting,
  requireHost,
  hostOf,
  linkedRecord,
  target,
  activityData,
  meetingDtos,
  type MeetingDto,
} from './meetings.common.ts';

/** A call nobody has reported from for this long is over (the page reports every {@link HEARTBEAT_SECONDS}). */
export const HEARTBEAT_TIMEOUT_SECONDS = 120;
export const HEARTBEAT_SECONDS = 20;
/** A call that has not started opens this long before its scheduled time... */
export const JOIN_EARLY_MINUTES = 15;
/** ...and can still be started until this long after its planned end. */
export const JOIN_LATE_MINUTES = 60;

/** Who is in front of the call page: a signed-in member, or a guest with a signed link. */
export type Joiner = { actor: Actor } | { guest: string };

/** What the call page needs to connect: where Jitsi is, which room, as whom, and the token if Jitsi wants one. */
export interface JoinInfo {
  attendeeId: string;
  meeting: LobbyView;
  domain: string;
  libUrl: string;
  serviceUrl: string;
  hosts: { domain: string; muc: string };
  roomName: string;
  displayName: string;
  email: string | null;
  moderator: boolean;
  jwt: string | null;
  heartbeatSeconds: number;
}

/** What a guest may know about the meeting: nothing of the CRM. */
export interface LobbyView {
  id: string;
  title: string;
  kind: VideoMeeting['kind'];
  status: VideoMeeting['status'];
  scheduledAt: Date | null;
  durationMinutes: number;
  hostName: string | null;
  /** Members only: the company to show beside the call. */
  companyId: string | null;
  contactId: string | null;
  displayName: string;
  guest: boolean;
  /** When a call that has not started can be joined: from `opensAt` to `closesAt`. */
  opensAt: Date;
  closesAt: Date;
}

const minutesOf = (seconds: number) => (seconds > 0 ? Math.max(1, Math.round(seconds / 60)) : 0);

/** "Video call completed · 45 min · with Giulia Neri, Sara Bianchi" */
export function completedSummary(seconds: number, names: string[]): string {
  const parts = ['Video call completed', `${minutesOf(seconds)} min`];
  if (names.length) parts.push(`with ${names.join(', ')}`);
  return parts.join(' · ');
}

const removed = () => new HttpError(403, 'guest_removed', 'You are no longer invited to this meeting');

/** When a call that has not started may be joined (the host may start it any time). */
export function joinWindow(m: Pick<VideoMeeting, 'scheduledAt' | 'createdAt' | 'durationMinutes'>) {
  const start = (m.scheduledAt ?? m.createdAt).getTime();
  return {
    opensAt: new Date(start - JOIN_EARLY_MINUTES * 60_000),
    closesAt: new Date(start + (m.durationMinutes + JOIN_LATE_MINUTES) * 60_000),
  };
}

/** The invitee a guest link stands for, if they are still on the meeting's list. */
function invitedGuest(m: VideoMeeting, claims: GuestClaims): MeetingParticipant | undefined {
  const email = claims.email?.toLowerCase() ?? null;
  return m.participants.find((p) =>
    claims.contactId
      ? p.type === 'contact' && p.contactId === claims.contactId
      : p.type === 'email' && p.email === email,
  );
}

/**
 * The call itself: joining (members and guests, within the meeting's time and list), presence reported by the call
 * page, and the end of the call, which records what happened and posts it to the timeline in one transaction.
 */
export class MeetingCalls {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;
  readonly #config: Pick<Config, 'publicUrl' | 'secretKey' | 'jitsi'>;

  constructor(deps: {
    orm: MikroORM;
    activities: ActivitiesService;
    config: Pick<Config, 'publicUrl' | 'secretKey' | 'jitsi'>;
  }) {
    this.#orm = deps.orm;
    this.#activities = deps.activities;
    this.#config = deps.config;
  }

  /** The meeting as the call page shows it before joining; guests see no CRM data. */
  async lobby(who: Joiner, id: string): Promise<LobbyView> {
    const { actor, claims } = this.#resolve(who, id);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await uow.em.findOne(VideoMeetingSchema, { id });
      if (!m) throw notFound('Meeting');
      if (claims && !invitedGuest(m, claims)) throw removed();
      return this.#lobbyView(uow, m, claims);
    });
  }

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
        uow.em.assign(m, { status: 'in_progress', startedAt: now, version: m.version + 1 });
        await em.flush();
        const where = await linkedRecord(uow, m);
        await this.#activities.record(uow, {
          ...target(where),
          type: 'meeting.started',
          title: `Video call started: ${m.title}`,
          data: activityData(m),
        });
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
        meeting: await this.#lobbyView(uow, m, claims),
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

  /** The page is still in the call. Answers whether the call goes on, so that a page left alone can leave. */
  heartbeat(who: Joiner, id: string, attendeeId: string): Promise<{ status: VideoMeeting['status']; inCall: boolean }> {
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
  leave(who: Joiner, id: string, attendeeId: string): Promise<{ status: VideoMeeting['status'] }> {
    const { actor, claims } = this.#resolve(who, id);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await lockMeeting(uow, id);
      if (claims && !invitedGuest(m, claims)) throw removed();
      const attendee = await this.#attendee(uow, m, attendeeId, claims);
      if (!attendee.leftAt) {
        attendee.leftAt = new Date();
        await uow.em.flush();
      }
      if (m.status === 'in_progress' && (await this.#activeCount(uow, m)) === 0)
        await this.#complete(uow, m, 'last_left', new Date());
      return { status: m.status };
    });
  }

  /** The host (or an admin) ends the call for everyone; a meeting nobody joined ends too, with 0 minutes. */
  end(actor: Actor, id: string): Promise<MeetingDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await lockMeeting(uow, id);
      requireHost(uow.actor, m);
      if (m.status === 'completed' || m.status === 'cancelled')
        throw new HttpError(409, `meeting_${m.status}`, `The meeting is already ${m.status}`);
      await this.#complete(uow, m, 'host_ended', new Date());
      return (await meetingDtos(uow, [m]))[0]!;
    });
  }

  /**
   * Called by the heartbeat sweep for a call nobody has reported from lately: ends it, as Filo, if that is
   * still true under the meeting's lock. Returns whether it ended the call.
   */
  expire(tenantId: string, id: string, now = new Date()): Promise<boolean> {
    return inTenant(this.#orm, systemActor(tenantId), async (uow) => {
      const [row] = (await uow.em.execute(`select id from video_meetings where id = ? for update`, [id])) as {
        id: string;
      }[];
      if (!row) return false;
      const m = (await uow.em.findOne(VideoMeetingSchema, { id }))!;
      if (m.status !== 'in_progress' || (await this.#activeCount(uow, m, now)) > 0) return false;
      await this.#complete(uow, m, 'timeout', now);
      return true;
    });
  }

  #resolve(who: Joiner, id: string): { actor: Actor; claims: GuestClaims | null } {
    if ('actor' in who) return { actor: who.actor, claims: null };
    const claims = verifyGuestToken(this.#config.secretKey, who.guest);
    // A link that does not verify, or is for another meeting, is as good as no meeting.
    if (!claims || claims.meetingId !== id) throw notFound('Meeting');
    return { actor: systemActor(claims.tenantId, claims.name), claims };
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

  /** Participants still in the call: not left, and heard from within the timeout. */
  async #activeCount(uow: UnitOfWork, m: VideoMeeting, now = new Date()): Promise<number> {
    return uow.em.count(MeetingAttendeeSchema, {
      meetingId: m.id,
      leftAt: null,
      lastSeenAt: { $gt: new Date(now.getTime() - HEARTBEAT_TIMEOUT_SECONDS * 1000) },
    });
  }

  /**
   * The end of a call, in the caller's transaction: presences closed, actual start, end, duration and
   * participants recorded, the automatic note on the company or contact and the `meeting.completed` activity.
   */
  async #complete(uow: UnitOfWork, m: VideoMeeting, reason: MeetingEndReason, now: Date): Promise<void> {
    const { em } = uow;
    const attendees = await em.find(MeetingAttendeeSchema, { meetingId: m.id }, { orderBy: { joinedAt: 'asc' } });
    const staleBefore = now.getTime() - HEARTBEAT_TIMEOUT_SECONDS * 1000;
    const lastSeen = Math.max(0, ...attendees.map((a) => (a.leftAt ?? a.lastSeenAt).getTime()));
    // Timed out: the call ended when somebody was last heard from, not when the sweep noticed.
    const endedAt = reason === 'timeout' && lastSeen ? new Date(lastSeen) : now;
    for (const a of attendees) {
      if (a.leftAt) continue;
      a.leftAt = reason === 'timeout' || a.lastSeenAt.getTime() <= staleBefore ? a.lastSeenAt : endedAt;
    }
    const startedAt = m.startedAt ?? endedAt;
    const seconds = Math.max(0, Math.round((endedAt.getTime() - startedAt.getTime()) / 1000));
    const names = participantNames(attendees);
    uow.em.assign(m, {
      status: 'completed',
      startedAt,
      endedAt,
      actualDurationSeconds: seconds,
      endReason: reason,
      version: m.version + 1,
    });
    const summary = completedSummary(seconds, names);
    const where = await linkedRecord(uow, m);
    if (where.entityType !== 'meeting') {
      const note = em.create(NoteSchema, {
        tenantId: m.tenantId,
        entityType: where.entityType,
        entityId: where.entityId,
        content: `${summary}\n\n**${m.title}**`,
        noteType: 'meeting',
        isPinned: false,
        mentions: [],
        attachments: [],
        // The host's note: theirs to edit.
        createdBy: m.hostUserId,
      });
      await em.flush();
      m.noteId = note.id;
    }
    await em.flush();
    await this.#activities.record(uow, {
      ...target(where),
      type: 'meeting.completed',
      title: `Video call completed: ${m.title}`,
      description: summary,
      data: {
        ...activityData(m),
        noteId: m.noteId ?? null,
        durationSeconds: seconds,
        durationMinutes: minutesOf(seconds),
        participants: names,
        endReason: reason,
        startedAt: startedAt.toISOString(),
        endedAt: endedAt.toISOString(),
      },
    });
  }

  async #lobbyView(uow: UnitOfWork, m: VideoMeeting, claims: GuestClaims | null): Promise<LobbyView> {
    const host = await hostOf(uow, m);
    return {
      id: m.id,
      title: m.title,
      kind: m.kind,
      status: m.status,
      scheduledAt: m.scheduledAt ?? null,
      durationMinutes: m.durationMinutes,
      hostName: host?.name ?? null,
      companyId: claims ? null : (m.companyId ?? null),
      contactId: claims ? null : (m.contactId ?? null),
      displayName: claims ? claims.name : uow.actor.userName,
      guest: Boolean(claims),
      ...joinWindow(m),
    };
  }
}

/** Each person once, in the order they first joined. */
function participantNames(attendees: MeetingAttendee[]): string[] {
  const seen = new Set<string>();
  const names: string[] = [];
  for (const a of attendees) {
    const key = a.userId ? `u:${a.userId}` : a.contactId ? `c:${a.contactId}` : `e:${a.email ?? a.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    names.push(a.name);
  }
  return names;
}
