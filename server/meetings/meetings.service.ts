import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fileTypeFromFile } from 'file-type';
import type { MikroORM } from '../../db/orm.ts';
import { CalendarFeedSchema } from '../../db/entities/calendar-feed.entity.ts';
import { CompanySchema } from '../../db/entities/company.entity.ts';
import { ContactSchema } from '../../db/entities/contact.entity.ts';
import { MeetingAttendeeSchema, type MeetingAttendee } from '../../db/entities/meeting-attendee.entity.ts';
import { MeetingRecordingSchema, type MeetingRecording } from '../../db/entities/meeting-recording.entity.ts';
import { MembershipSchema } from '../../db/entities/membership.entity.ts';
import { NoteSchema } from '../../db/entities/note.entity.ts';
import { UserSchema } from '../../db/entities/user.entity.ts';
import {
  VideoMeetingSchema,
  type MeetingEndReason,
  type MeetingParticipant,
  type VideoMeeting,
} from '../../db/entities/video-meeting.entity.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Mailer } from '../mail/mailer.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { authorOf, inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../crm/activities.service.ts';
import { signGuestToken, verifyGuestToken, type GuestClaims } from './guest-token.ts';
import { icsCalendar, type IcsEvent, type IcsPerson } from './ics.ts';
import { signJitsiJwt } from './jitsi-jwt.ts';
import type { MeetingInput, MeetingListQuery, MeetingPatch, RecordingInput } from './meetings.schemas.ts';

/** A call nobody has reported from for this long is over (the page reports every {@link HEARTBEAT_SECONDS}). */
export const HEARTBEAT_TIMEOUT_SECONDS = 120;
export const HEARTBEAT_SECONDS = 20;
export const RECORDING_MAX_BYTES = 2 * 1024 * 1024 * 1024;
/** A guest link stays valid this long after the meeting's planned end. */
const GUEST_LINK_DAYS = 7;

type ParticipantInput = MeetingInput['participants'][number];

/** Who is in front of the call page: a signed-in member, or a guest with a signed link. */
export type Joiner = { actor: Actor } | { guest: string };

interface Linked {
  entityType: 'company' | 'contact' | 'meeting';
  entityId: string;
  companyId: string | null;
  /** The company's or contact's name; null for a meeting with no record. */
  name: string | null;
}

export interface MeetingDto {
  id: string;
  title: string;
  kind: VideoMeeting['kind'];
  status: VideoMeeting['status'];
  companyId: string | null;
  contactId: string | null;
  /** The linked records' names, for lists that show meetings of many records. */
  companyName: string | null;
  contactName: string | null;
  scheduledAt: Date | null;
  durationMinutes: number;
  meetingUrl: string;
  provider: VideoMeeting['provider'];
  roomId: string;
  hostUserId: string;
  hostName: string | null;
  participants: MeetingParticipant[];
  recordingUrl: string | null;
  notes: string | null;
  hasTranscript: boolean;
  startedAt: Date | null;
  endedAt: Date | null;
  actualDurationSeconds: number | null;
  endReason: MeetingEndReason | null;
  icsSequence: number;
  noteId: string | null;
  transcriptNoteId: string | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface MeetingDetail extends MeetingDto {
  transcript: string | null;
  attendees: {
    id: string;
    name: string;
    userId: string | null;
    contactId: string | null;
    isHost: boolean;
    joinedAt: Date;
    leftAt: Date | null;
  }[];
  recordings: RecordingDto[];
}

export interface RecordingDto {
  id: string;
  meetingId: string;
  fileUrl: string;
  fileSize: number | null;
  fileType: string | null;
  durationSeconds: number | null;
  thumbnailUrl: string | null;
  transcriptUrl: string | null;
  createdAt: Date;
}

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
}

const minutesOf = (seconds: number) => (seconds > 0 ? Math.max(1, Math.round(seconds / 60)) : 0);

/** "Video call completed · 45 min · with Giulia Neri, Sara Bianchi" */
export function completedSummary(seconds: number, names: string[]): string {
  const parts = ['Video call completed', `${minutesOf(seconds)} min`];
  if (names.length) parts.push(`with ${names.join(', ')}`);
  return parts.join(' · ');
}

const excerpt = (text: string, max = 500) => {
  const plain = text.replace(/\s+/g, ' ').trim();
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
};

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

const forbidden = () => new HttpError(403, 'forbidden', 'Only the host or an admin can change this meeting');

/**
 * Video calls: scheduling with calendar invitations, joining (members and guests), presence reported by the call
 * page, and the end of the call, which records what happened and posts it to the timeline in one transaction.
 */
export class MeetingsService {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;
  readonly #mailer: Mailer;
  readonly #blobs: BlobStore;
  readonly #config: Pick<Config, 'publicUrl' | 'secretKey' | 'jitsi'>;
  readonly #log: Logger;

  constructor(deps: {
    orm: MikroORM;
    activities: ActivitiesService;
    mailer: Mailer;
    blobs: BlobStore;
    config: Pick<Config, 'publicUrl' | 'secretKey' | 'jitsi'>;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#activities = deps.activities;
    this.#mailer = deps.mailer;
    this.#blobs = deps.blobs;
    this.#config = deps.config;
    this.#log = deps.log;
  }

  // ---- reading ----

  list(actor: Actor, q: MeetingListQuery): Promise<{ items: MeetingDto[] }> {
    return inTenant(this.#orm, actor, async (uow) => {
      const where = ['m.tenant_id = ?'];
      const params: unknown[] = [actor.tenantId];
      const filters: [unknown, string][] = [
        [q.companyId, 'm.company_id = ?'],
        [q.contactId, 'm.contact_id = ?'],
        [q.status, 'm.status = ?'],
        [q.from && new Date(q.from), 'm.scheduled_at >= ?'],
        [q.to && new Date(q.to), 'm.scheduled_at < ?'],
      ];
      for (const [value, condition] of filters) {
        if (value === undefined) continue;
        where.push(condition);
        params.push(value);
      }
      if (q.userId) {
        where.push('(m.host_user_id = ? or m.participants @> ?::jsonb)');
        params.push(q.userId, JSON.stringify([{ userId: q.userId }]));
      }
      params.push(q.limit);
      const rows = (await uow.em.execute(
        `select m.id from video_meetings m where ${where.join(' and ')}
          order by m.scheduled_at ${q.sort === 'scheduledAt' ? 'asc' : 'desc'} nulls last, m.id limit ?`,
        params,
      )) as { id: string }[];
      const found = await uow.em.find(VideoMeetingSchema, { id: { $in: rows.map((r) => r.id) } });
      const byId = new Map(found.map((m) => [m.id, m]));
      const ordered = rows.map((r) => byId.get(r.id)!).filter(Boolean);
      return { items: await this.#dtos(uow, ordered) };
    });
  }

  get(actor: Actor, id: string): Promise<MeetingDetail> {
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await uow.em.findOne(VideoMeetingSchema, { id });
      if (!m) throw notFound('Meeting');
      return this.#detail(uow, m);
    });
  }

  /** The invitation as it stands (REQUEST, or CANCEL once cancelled), for "add to my calendar". */
  calendar(actor: Actor, id: string): Promise<string> {
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await uow.em.findOne(VideoMeetingSchema, { id });
      if (!m) throw notFound('Meeting');
      const host = await this.#host(uow, m);
      const method = m.status === 'cancelled' ? 'CANCEL' : 'REQUEST';
      return icsCalendar({ method, events: [this.#icsEvent(m, host, m.meetingUrl)] });
    });
  }

  // ---- scheduling ----

  create(actor: Actor, input: MeetingInput): Promise<MeetingDto> {
    requireWrite(actor);
    const instant = !input.scheduledAt;
    if (input.scheduledAt && new Date(input.scheduledAt).getTime() < Date.now() - 5 * 60_000)
      throw new HttpError(400, 'validation_failed', 'A meeting cannot be scheduled in the past', {
        scheduledAt: 'must not be in the past',
      });
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const link = await this.#checkLink(uow, input.companyId ?? null, input.contactId ?? null);
      const participants = await this.#participants(uow, input.participants);
      const id = randomUUID();
      const m = em.create(VideoMeetingSchema, {
        id,
        tenantId: actor.tenantId,
        companyId: link.companyId,
        contactId: link.contactId,
        title: input.title ?? (link.name ? `Video call with ${link.name}` : 'Video call'),
        kind: instant ? 'instant' : 'scheduled',
        scheduledAt: instant ? new Date() : new Date(input.scheduledAt!),
        durationMinutes: input.durationMinutes,
        meetingUrl: `${this.#config.publicUrl}/call/${id}`,
        provider: 'jitsi',
        // 128 random bits, lower case: Jitsi folds room names to lower case.
        roomId: `filo-${randomBytes(16).toString('hex')}`,
        hostUserId: actor.userId,
        participants,
        status: 'scheduled',
        notes: input.notes ?? null,
      });
      await em.flush();
      if (!instant) {
        const where = await this.#linked(uow, m);
        await this.#activities.record(uow, {
          ...this.#target(where),
          type: 'meeting.scheduled',
          title: `Video call scheduled: ${m.title}`,
          description: m.notes ? excerpt(m.notes) : null,
          data: this.#activityData(m),
        });
      }
      await this.#invite(uow, m, 'new', participants, []);
      const [dto] = await this.#dtos(uow, [m]);
      return dto!;
    });
  }

  update(actor: Actor, id: string, patch: MeetingPatch): Promise<MeetingDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await this.#lock(uow, id);
      this.#requireHost(uow.actor, m);
      if (m.status === 'completed' || m.status === 'cancelled')
        throw new HttpError(409, `meeting_${m.status}`, `The meeting is ${m.status}: it can no longer change`);
      const before = [...m.participants];
      const next: Partial<VideoMeeting> = {};
      if (patch.title !== undefined) next.title = patch.title;
      if (patch.durationMinutes !== undefined) next.durationMinutes = patch.durationMinutes;
      if (patch.notes !== undefined) next.notes = patch.notes;
      if (patch.scheduledAt !== undefined) next.scheduledAt = new Date(patch.scheduledAt);
      if (patch.participants !== undefined) next.participants = await this.#participants(uow, patch.participants);
      const changed = Object.keys(next).filter(
        (k) =>
          JSON.stringify((m as Record<string, unknown>)[k] ?? null) !==
          JSON.stringify((next as Record<string, unknown>)[k] ?? null),
      );
      if (!changed.length) return (await this.#dtos(uow, [m]))[0]!;
      uow.em.assign(m, { ...next, icsSequence: m.icsSequence + 1, version: m.version + 1 });
      await uow.em.flush();
      const where = await this.#linked(uow, m);
      await this.#activities.record(uow, {
        ...this.#target(where),
        type: 'meeting.updated',
        title: `Video call updated: ${m.title}`,
        data: { ...this.#activityData(m), changed },
      });
      const key = (p: MeetingParticipant) => p.userId ?? p.contactId ?? p.email;
      const kept = new Set(m.participants.map(key));
      await this.#invite(
        uow,
        m,
        'update',
        m.participants,
        before.filter((p) => !kept.has(key(p))),
      );
      return (await this.#dtos(uow, [m]))[0]!;
    });
  }

  cancel(actor: Actor, id: string): Promise<MeetingDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await this.#lock(uow, id);
      this.#requireHost(uow.actor, m);
      if (m.status !== 'scheduled')
        throw new HttpError(
          409,
          `meeting_${m.status}`,
          m.status === 'in_progress' ? 'The call is in progress: end it instead' : `The meeting is already ${m.status}`,
        );
      uow.em.assign(m, { status: 'cancelled', icsSequence: m.icsSequence + 1, version: m.version + 1 });
      await uow.em.flush();
      const where = await this.#linked(uow, m);
      await this.#activities.record(uow, {
        ...this.#target(where),
        type: 'meeting.cancelled',
        title: `Video call cancelled: ${m.title}`,
        data: this.#activityData(m),
      });
      await this.#invite(uow, m, 'cancel', [], m.participants);
      return (await this.#dtos(uow, [m]))[0]!;
    });
  }

  // ---- the call ----

  /** The meeting as the call page shows it before joining; guests see no CRM data. */
  async lobby(who: Joiner, id: string): Promise<LobbyView> {
    const { actor, claims } = this.#resolve(who, id);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await uow.em.findOne(VideoMeetingSchema, { id });
      if (!m) throw notFound('Meeting');
      return this.#lobbyView(uow, m, claims);
    });
  }

  join(who: Joiner, id: string): Promise<JoinInfo> {
    const { actor, claims } = this.#resolve(who, id);
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const m = await this.#lock(uow, id);
      if (m.status === 'completed' || m.status === 'cancelled')
        throw new HttpError(
          409,
          `meeting_${m.status}`,
          `This meeting is ${m.status === 'completed' ? 'over' : 'cancelled'}`,
        );
      const now = new Date();
      if (m.status === 'scheduled') {
        uow.em.assign(m, { status: 'in_progress', startedAt: now, version: m.version + 1 });
        await em.flush();
        const where = await this.#linked(uow, m);
        await this.#activities.record(uow, {
          ...this.#target(where),
          type: 'meeting.started',
          title: `Video call started: ${m.title}`,
          data: this.#activityData(m),
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
        name: person.name.slice(0, 255),
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
      const m = await this.#lock(uow, id);
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
      const m = await this.#lock(uow, id);
      this.#requireHost(uow.actor, m);
      if (m.status === 'completed' || m.status === 'cancelled')
        throw new HttpError(409, `meeting_${m.status}`, `The meeting is already ${m.status}`);
      await this.#complete(uow, m, 'host_ended', new Date());
      return (await this.#dtos(uow, [m]))[0]!;
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

  // ---- afterwards: recordings and transcript ----

  addRecording(actor: Actor, id: string, input: RecordingInput): Promise<RecordingDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, (uow) =>
      this.#saveRecording(uow, id, {
        fileUrl: input.fileUrl,
        fileSize: input.fileSize ?? null,
        fileType: null,
        durationSeconds: input.durationSeconds ?? null,
        thumbnailUrl: input.thumbnailUrl ?? null,
        transcriptUrl: input.transcriptUrl ?? null,
      }),
    );
  }

  /** Streams an uploaded recording to the blob store first; the row is written only when that worked. */
  async uploadRecording(
    actor: Actor,
    id: string,
    meta: { durationSeconds?: number | undefined },
    file: { stream: Readable },
  ): Promise<RecordingDto> {
    requireWrite(actor);
    // Before taking the bytes: the meeting must exist in this workspace.
    await inTenant(this.#orm, actor, async ({ em }) => {
      if (!(await em.count(VideoMeetingSchema, { id }))) throw notFound('Meeting');
    });
    const blob = await this.#blobs.put(file.stream, { prefix: actor.tenantId, maxBytes: RECORDING_MAX_BYTES });
    if (!blob.complete) throw new HttpError(413, 'payload_too_large', 'Recordings are limited to 2 GB');
    try {
      const sniffed = await fileTypeFromFile(this.#blobs.path(blob.key));
      return await inTenant(this.#orm, actor, (uow) =>
        this.#saveRecording(uow, id, {
          fileUrl: `blob:${blob.key}`,
          fileSize: blob.size,
          fileType: sniffed?.mime ?? 'application/octet-stream',
          durationSeconds: meta.durationSeconds ?? null,
          thumbnailUrl: null,
          transcriptUrl: null,
        }),
      );
    } catch (err) {
      await this.#blobs.remove(blob.key);
      throw err;
    }
  }

  listRecordings(actor: Actor, id: string): Promise<RecordingDto[]> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      if (!(await em.count(VideoMeetingSchema, { id }))) throw notFound('Meeting');
      const rows = await em.find(MeetingRecordingSchema, { meetingId: id }, { orderBy: { createdAt: 'desc' } });
      return rows.map((r) => this.#recordingDto(r));
    });
  }

  /** An uploaded recording's bytes: audio and video as themselves, anything else as a download. */
  async openRecording(actor: Actor, id: string, recordingId: string) {
    const rec = await inTenant(this.#orm, actor, ({ em }) =>
      em.findOne(MeetingRecordingSchema, { id: recordingId, meetingId: id }),
    );
    if (!rec || !rec.fileUrl.startsWith('blob:')) throw notFound('Recording');
    const playable = /^(video|audio)\/[\w.+-]+$/.test(rec.fileType ?? '');
    return {
      path: this.#blobs.path(rec.fileUrl.slice('blob:'.length)),
      type: playable ? rec.fileType! : 'application/octet-stream',
      inline: playable,
    };
  }

  /**
   * The transcript is kept on the meeting and posted as a note (type meeting) on its company or contact, where
   * search finds it like any note; sending it again replaces both.
   */
  setTranscript(actor: Actor, id: string, text: string): Promise<MeetingDetail> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const m = await this.#lock(uow, id);
      if (m.status === 'cancelled') throw new HttpError(409, 'meeting_cancelled', 'The meeting was cancelled');
      m.transcript = text;
      m.version += 1;
      const where = await this.#linked(uow, m);
      let noteId: string | null = null;
      if (where.entityType !== 'meeting') {
        const content = `Transcript · ${m.title}\n\n${text}`;
        const existing = m.transcriptNoteId ? await em.findOne(NoteSchema, { id: m.transcriptNoteId }) : null;
        if (existing) {
          existing.content = content;
          noteId = existing.id;
        } else {
          const note = em.create(NoteSchema, {
            tenantId: m.tenantId,
            entityType: where.entityType,
            entityId: where.entityId,
            content,
            noteType: 'meeting',
            isPinned: false,
            mentions: [],
            attachments: [],
            createdBy: authorOf(uow.actor) ?? m.hostUserId,
          });
          await em.flush();
          noteId = note.id;
          m.transcriptNoteId = note.id;
        }
      }
      await em.flush();
      await this.#activities.record(uow, {
        ...this.#target(where),
        type: 'meeting.transcript_added',
        title: `Transcript added: ${m.title}`,
        description: excerpt(text),
        data: { ...this.#activityData(m), noteId },
      });
      return this.#detail(uow, m);
    });
  }

  // ---- calendar feed ----

  /** A new secret feed URL for this member (any previous one stops working); shown once. */
  createFeed(actor: Actor): Promise<{ url: string; createdAt: Date }> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      await em.nativeDelete(CalendarFeedSchema, { userId: actor.userId });
      const token = randomBytes(32).toString('base64url');
      const feed = em.create(CalendarFeedSchema, {
        tenantId: actor.tenantId,
        userId: actor.userId,
        tokenHash: sha256(token),
      });
      await em.flush();
      return { url: `${this.#config.publicUrl}/api/meetings/feed/${token}.ics`, createdAt: feed.createdAt };
    });
  }

  feedStatus(actor: Actor): Promise<{ active: boolean; createdAt: Date | null; lastUsedAt: Date | null }> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const feed = await em.findOne(CalendarFeedSchema, { userId: actor.userId });
      return { active: Boolean(feed), createdAt: feed?.createdAt ?? null, lastUsedAt: feed?.lastUsedAt ?? null };
    });
  }

  revokeFeed(actor: Actor): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      await em.nativeDelete(CalendarFeedSchema, { userId: actor.userId });
    });
  }

  /** The feed behind a token: the member's meetings from 60 days ago on, as they stand. Null for a bad token. */
  async feed(token: string): Promise<string | null> {
    if (!/^[\w-]{20,100}$/.test(token)) return null;
    const [owner] = (await this.#orm.em
      .getConnection()
      .execute(`select * from filo_calendar_feed_lookup(?)`, [sha256(token)])) as {
      tenant_id: string;
      user_id: string;
    }[];
    if (!owner) return null;
    const probe: Actor = {
      tenantId: owner.tenant_id,
      userId: owner.user_id,
      userName: '',
      role: 'member',
      scope: 'read',
    };
    return inTenant(this.#orm, probe, async (uow) => {
      const { em } = uow;
      const member = await em.count(MembershipSchema, { tenant: owner.tenant_id, user: owner.user_id } as never);
      if (!member) return null;
      await em.nativeUpdate(CalendarFeedSchema, { userId: owner.user_id }, { lastUsedAt: new Date() });
      const rows = (await em.execute(
        `select id from video_meetings where tenant_id = ? and (host_user_id = ? or participants @> ?::jsonb)
            and scheduled_at >= ? order by scheduled_at limit 1000`,
        [
          owner.tenant_id,
          owner.user_id,
          JSON.stringify([{ userId: owner.user_id }]),
          new Date(Date.now() - 60 * 86_400_000),
        ],
      )) as { id: string }[];
      const meetings = await em.find(
        VideoMeetingSchema,
        { id: { $in: rows.map((r) => r.id) } },
        { orderBy: { scheduledAt: 'asc' } },
      );
      const hosts = await this.#users(
        uow,
        meetings.map((m) => m.hostUserId),
      );
      const events = meetings.map((m) => this.#icsEvent(m, hosts.get(m.hostUserId) ?? null, m.meetingUrl));
      return icsCalendar({ name: 'Filo meetings', events });
    });
  }

  // ---- internals ----

  #resolve(who: Joiner, id: string): { actor: Actor; claims: GuestClaims | null } {
    if ('actor' in who) return { actor: who.actor, claims: null };
    const claims = verifyGuestToken(this.#config.secretKey, who.guest);
    // A link that does not verify, or is for another meeting, is as good as no meeting.
    if (!claims || claims.meetingId !== id) throw notFound('Meeting');
    return { actor: systemActor(claims.tenantId, claims.name), claims };
  }

  async #lock(uow: UnitOfWork, id: string): Promise<VideoMeeting> {
    const [row] = (await uow.em.execute(`select id from video_meetings where id = ? for update`, [id])) as {
      id: string;
    }[];
    if (!row) throw notFound('Meeting');
    return (await uow.em.findOne(VideoMeetingSchema, { id }, { refresh: true }))!;
  }

  #requireHost(actor: Actor, m: VideoMeeting): void {
    if (actor.system) return;
    if (m.hostUserId !== actor.userId && actor.role === 'member') throw forbidden();
  }

  async #attendee(uow: UnitOfWork, m: VideoMeeting, attendeeId: string, claims: GuestClaims | null) {
    const attendee = await uow.em.findOne(MeetingAttendeeSchema, { id: attendeeId, meetingId: m.id });
    // Each presence is reported by whoever joined as it.
    const own = attendee && (claims ? attendee.userId === null : attendee.userId === uow.actor.userId);
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
    const where = await this.#linked(uow, m);
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
      ...this.#target(where),
      type: 'meeting.completed',
      title: `Video call completed: ${m.title}`,
      description: summary,
      data: {
        ...this.#activityData(m),
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

  async #saveRecording(
    uow: UnitOfWork,
    id: string,
    input: Omit<MeetingRecording, 'id' | 'tenantId' | 'meetingId' | 'createdAt' | 'createdBy'>,
  ): Promise<RecordingDto> {
    const { em } = uow;
    const m = await this.#lock(uow, id);
    if (m.status === 'cancelled') throw new HttpError(409, 'meeting_cancelled', 'The meeting was cancelled');
    const rec = em.create(MeetingRecordingSchema, {
      ...input,
      tenantId: m.tenantId,
      meetingId: m.id,
      createdBy: authorOf(uow.actor),
    });
    await em.flush();
    const dto = this.#recordingDto(rec);
    m.recordingUrl = dto.fileUrl;
    m.version += 1;
    await em.flush();
    const where = await this.#linked(uow, m);
    await this.#activities.record(uow, {
      ...this.#target(where),
      type: 'meeting.recording_added',
      title: `Recording added: ${m.title}`,
      data: {
        ...this.#activityData(m),
        recordingId: rec.id,
        recordingUrl: dto.fileUrl,
        durationSeconds: rec.durationSeconds ?? null,
      },
    });
    return dto;
  }

  #recordingDto(r: MeetingRecording): RecordingDto {
    return {
      id: r.id,
      meetingId: r.meetingId,
      fileUrl: r.fileUrl.startsWith('blob:') ? `/api/meetings/${r.meetingId}/recordings/${r.id}/file` : r.fileUrl,
      fileSize: r.fileSize ?? null,
      fileType: r.fileType ?? null,
      durationSeconds: r.durationSeconds ?? null,
      thumbnailUrl: r.thumbnailUrl ?? null,
      transcriptUrl: r.transcriptUrl ?? null,
      createdAt: r.createdAt,
    };
  }

  /** A company and/or contact of this workspace; a contact alone brings its company. */
  async #checkLink(uow: UnitOfWork, companyId: string | null, contactId: string | null) {
    const { em } = uow;
    let name: string | null = null;
    if (contactId) {
      const contact = await em.findOne(ContactSchema, { id: contactId });
      if (!contact) throw new HttpError(400, 'validation_failed', 'Unknown contact', { contactId: 'no such contact' });
      if (companyId && contact.companyId && contact.companyId !== companyId)
        throw new HttpError(400, 'validation_failed', 'The contact works at another company', {
          contactId: 'is not a contact of this company',
        });
      companyId ??= contact.companyId ?? null;
      name = `${contact.firstName} ${contact.lastName}`;
    }
    if (companyId) {
      const company = await em.findOne(CompanySchema, { id: companyId });
      if (!company) throw new HttpError(400, 'validation_failed', 'Unknown company', { companyId: 'no such company' });
      name ??= company.name;
    }
    return { companyId, contactId, name };
  }

  /** Invitees as stored: members and contacts resolved (and checked) to their name and email, no duplicates. */
  async #participants(uow: UnitOfWork, inputs: ParticipantInput[]): Promise<MeetingParticipant[]> {
    const { em } = uow;
    const userIds = [...new Set(inputs.flatMap((p) => ('userId' in p ? [p.userId] : [])))];
    const contactIds = [...new Set(inputs.flatMap((p) => ('contactId' in p ? [p.contactId] : [])))];
    const members = userIds.length
      ? await em.find(MembershipSchema, { tenant: uow.actor.tenantId, user: { $in: userIds } } as never)
      : [];
    const memberIds = new Set(members.map((m) => (m.user as { id: string }).id));
    const strangers = userIds.filter((id) => !memberIds.has(id));
    if (strangers.length)
      throw new HttpError(400, 'validation_failed', 'Invited users must be members of this workspace', {
        participants: `not members: ${strangers.join(', ')}`,
      });
    const users = await this.#users(uow, userIds);
    const contacts = contactIds.length ? await em.find(ContactSchema, { id: { $in: contactIds } }) : [];
    const unknown = contactIds.filter((id) => !contacts.some((c) => c.id === id));
    if (unknown.length)
      throw new HttpError(400, 'validation_failed', 'Unknown contact', {
        participants: `no such contacts: ${unknown.join(', ')}`,
      });
    const out: MeetingParticipant[] = [];
    const seen = new Set<string>();
    const add = (key: string, p: MeetingParticipant) => {
      if (seen.has(key)) return;
      seen.add(key);
      out.push(p);
    };
    for (const p of inputs) {
      if ('userId' in p) {
        const u = users.get(p.userId)!;
        add(`u:${p.userId}`, { type: 'user', userId: p.userId, name: u.name, email: u.email });
      } else if ('contactId' in p) {
        const c = contacts.find((x) => x.id === p.contactId)!;
        add(`c:${c.id}`, {
          type: 'contact',
          contactId: c.id,
          name: `${c.firstName} ${c.lastName}`,
          email: c.email ?? null,
        });
      } else {
        const email = p.email.toLowerCase();
        add(`e:${email}`, { type: 'email', name: p.name ?? email, email });
      }
    }
    return out;
  }

  async #users(uow: UnitOfWork, ids: string[]): Promise<Map<string, IcsPerson>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const rows = await uow.em.find(UserSchema, { id: { $in: unique } });
    return new Map(rows.map((u) => [u.id, { name: u.name, email: u.email }]));
  }

  async #host(uow: UnitOfWork, m: VideoMeeting): Promise<IcsPerson | null> {
    return (await this.#users(uow, [m.hostUserId])).get(m.hostUserId) ?? null;
  }

  /** Where the meeting's timeline entries and notes go: its contact, else its company, else the meeting itself. */
  async #linked(uow: UnitOfWork, m: VideoMeeting): Promise<Linked> {
    const { em } = uow;
    if (m.contactId) {
      const c = await em.findOne(ContactSchema, { id: m.contactId });
      if (c)
        return {
          entityType: 'contact',
          entityId: c.id,
          companyId: c.companyId ?? m.companyId ?? null,
          name: `${c.firstName} ${c.lastName}`,
        };
    }
    if (m.companyId) {
      const c = await em.findOne(CompanySchema, { id: m.companyId });
      if (c) return { entityType: 'company', entityId: c.id, companyId: c.id, name: c.name };
    }
    return { entityType: 'meeting', entityId: m.id, companyId: null, name: null };
  }

  #target(where: Linked) {
    return { entityType: where.entityType, entityId: where.entityId, companyId: where.companyId };
  }

  #activityData(m: VideoMeeting) {
    return {
      meetingId: m.id,
      title: m.title,
      kind: m.kind,
      status: m.status,
      scheduledAt: m.scheduledAt?.toISOString() ?? null,
      durationMinutes: m.durationMinutes,
    };
  }

  async #lobbyView(uow: UnitOfWork, m: VideoMeeting, claims: GuestClaims | null): Promise<LobbyView> {
    const host = await this.#host(uow, m);
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
    };
  }

  async #dtos(uow: UnitOfWork, meetings: VideoMeeting[]): Promise<MeetingDto[]> {
    const hosts = await this.#users(
      uow,
      meetings.map((m) => m.hostUserId),
    );
    const companyIds = [...new Set(meetings.flatMap((m) => (m.companyId ? [m.companyId] : [])))];
    const contactIds = [...new Set(meetings.flatMap((m) => (m.contactId ? [m.contactId] : [])))];
    const companies = new Map(
      (companyIds.length ? await uow.em.find(CompanySchema, { id: { $in: companyIds } }) : []).map((c) => [
        c.id,
        c.name,
      ]),
    );
    const contacts = new Map(
      (contactIds.length ? await uow.em.find(ContactSchema, { id: { $in: contactIds } }) : []).map((c) => [
        c.id,
        `${c.firstName} ${c.lastName}`,
      ]),
    );
    return meetings.map((m) => ({
      id: m.id,
      title: m.title,
      kind: m.kind,
      status: m.status,
      companyId: m.companyId ?? null,
      contactId: m.contactId ?? null,
      companyName: (m.companyId && companies.get(m.companyId)) || null,
      contactName: (m.contactId && contacts.get(m.contactId)) || null,
      scheduledAt: m.scheduledAt ?? null,
      durationMinutes: m.durationMinutes,
      meetingUrl: m.meetingUrl,
      provider: m.provider,
      roomId: m.roomId,
      hostUserId: m.hostUserId,
      hostName: hosts.get(m.hostUserId)?.name ?? null,
      participants: m.participants,
      recordingUrl: m.recordingUrl ?? null,
      notes: m.notes ?? null,
      hasTranscript: Boolean(m.transcript),
      startedAt: m.startedAt ?? null,
      endedAt: m.endedAt ?? null,
      actualDurationSeconds: m.actualDurationSeconds ?? null,
      endReason: m.endReason ?? null,
      icsSequence: m.icsSequence,
      noteId: m.noteId ?? null,
      transcriptNoteId: m.transcriptNoteId ?? null,
      createdAt: m.createdAt,
      updatedAt: m.updatedAt,
      version: m.version,
    }));
  }

  async #detail(uow: UnitOfWork, m: VideoMeeting): Promise<MeetingDetail> {
    const [dto] = await this.#dtos(uow, [m]);
    const attendees = await uow.em.find(MeetingAttendeeSchema, { meetingId: m.id }, { orderBy: { joinedAt: 'asc' } });
    const recordings = await uow.em.find(
      MeetingRecordingSchema,
      { meetingId: m.id },
      { orderBy: { createdAt: 'desc' } },
    );
    return {
      ...dto!,
      transcript: m.transcript ?? null,
      attendees: attendees.map((a) => ({
        id: a.id,
        name: a.name,
        userId: a.userId ?? null,
        contactId: a.contactId ?? null,
        isHost: a.isHost,
        joinedAt: a.joinedAt,
        leftAt: a.leftAt ?? null,
      })),
      recordings: recordings.map((r) => this.#recordingDto(r)),
    };
  }

  #icsEvent(m: VideoMeeting, host: IcsPerson | null, link: string, attendees?: IcsPerson[]): IcsEvent {
    const start = m.scheduledAt ?? m.createdAt;
    return {
      uid: `${m.id}@${new URL(this.#config.publicUrl).hostname}`,
      sequence: m.icsSequence,
      stamp: new Date(),
      start,
      end: new Date(start.getTime() + m.durationMinutes * 60_000),
      summary: m.title,
      description: [m.notes, `Join the video call: ${link}`].filter(Boolean).join('\n\n'),
      location: link,
      url: link,
      status: m.status === 'cancelled' ? 'CANCELLED' : 'CONFIRMED',
      organizer: host,
      attendees: attendees ?? m.participants.flatMap((p) => (p.email ? [{ name: p.name, email: p.email }] : [])),
      created: m.createdAt,
      lastModified: m.updatedAt,
    };
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
    return `${m.meetingUrl}?guest=${token}`;
  }

  /**
   * Invitations (REQUEST) to `to`, cancellations (CANCEL) to `cancelled`, each with the participant's own link;
   * sent after the commit, so that nobody is invited to a meeting that does not exist.
   */
  async #invite(
    uow: UnitOfWork,
    m: VideoMeeting,
    what: 'new' | 'update' | 'cancel',
    to: MeetingParticipant[],
    cancelled: MeetingParticipant[],
  ): Promise<void> {
    const host = await this.#host(uow, m);
    const everyone = m.participants.flatMap((p) => (p.email ? [{ name: p.name, email: p.email }] : []));
    const mails = [
      ...to.map((p) => ({ p, method: 'REQUEST' as const })),
      ...cancelled.map((p) => ({ p, method: 'CANCEL' as const })),
    ]
      .filter(({ p }) => p.email && p.email !== host?.email)
      .map(({ p, method }) => {
        const link = this.#joinLink(m, p);
        const event = this.#icsEvent(
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
    uow.afterCommit(() => {
      void (async () => {
        for (const mail of mails) {
          await this.#mailer.send(mail).catch((err: unknown) => {
            this.#log.error({ err, meetingId: m.id, to: mail.to }, 'meeting invitation not sent');
          });
        }
      })();
    });
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
