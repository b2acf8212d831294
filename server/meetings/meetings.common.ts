import { LockMode } from '@mikro-orm/core';
import type { Meeting as MeetingDto, MeetingDetail, Recording as RecordingDto } from '#contracts/meetings';
import { CompanySchema } from '../../db/entities/company.entity.ts';
import { ContactSchema } from '../../db/entities/contact.entity.ts';
import { MeetingAttendeeSchema } from '../../db/entities/meeting-attendee.entity.ts';
import { MeetingRecordingSchema, type MeetingRecording } from '../../db/entities/meeting-recording.entity.ts';
import { UserSchema } from '../../db/entities/user.entity.ts';
import { VideoMeetingSchema, type VideoMeeting } from '../../db/entities/video-meeting.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { Actor, UnitOfWork } from '../tenancy.ts';
import type { IcsEvent, IcsPerson } from './ics.ts';

// What the meetings services share: DTOs, the meeting's lock and host check, where it posts, its calendar event.

export interface Linked {
  entityType: 'company' | 'contact' | 'meeting';
  entityId: string;
  companyId: string | null;
  /** The company's or contact's name; null for a meeting with no record. */
  name: string | null;
}

export type { Meeting as MeetingDto, MeetingDetail, Recording as RecordingDto } from '#contracts/meetings';

/** Dates as the JSON carries them: the DTOs are the contract's types. */
export const iso = (d: Date) => d.toISOString();
export const isoOrNull = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export const excerpt = (text: string, max = 500) => {
  const plain = text.replace(/\s+/g, ' ').trim();
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
};

const forbidden = () => new HttpError(403, 'forbidden', 'Only the host or an admin can change this meeting');

/** The meeting, read under its row lock: changes to one meeting land one after the other, each on the latest row. */
export async function lockMeeting(uow: UnitOfWork, id: string): Promise<VideoMeeting> {
  const m = await findLockedMeeting(uow, id);
  if (!m) throw notFound('Meeting');
  return m;
}

export const findLockedMeeting = (uow: UnitOfWork, id: string) =>
  uow.em.findOne(VideoMeetingSchema, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });

export function requireHost(actor: Actor, m: VideoMeeting): void {
  if (actor.system) return;
  if (m.hostUserId !== actor.userId && actor.role === 'member') throw forbidden();
}

export async function usersByIds(uow: UnitOfWork, ids: string[]): Promise<Map<string, IcsPerson>> {
  const unique = [...new Set(ids)];
  if (!unique.length) return new Map();
  const rows = await uow.em.find(UserSchema, { id: { $in: unique } });
  return new Map(rows.map((u) => [u.id, { name: u.name, email: u.email }]));
}

export async function hostOf(uow: UnitOfWork, m: VideoMeeting): Promise<IcsPerson | null> {
  return (await usersByIds(uow, [m.hostUserId])).get(m.hostUserId) ?? null;
}

/** Where the meeting's timeline entries and notes go: its contact, else its company, else the meeting itself. */
export async function linkedRecord(uow: UnitOfWork, m: VideoMeeting): Promise<Linked> {
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

export function target(where: Linked) {
  return { entityType: where.entityType, entityId: where.entityId, companyId: where.companyId };
}

export function activityData(m: VideoMeeting) {
  return {
    meetingId: m.id,
    title: m.title,
    kind: m.kind,
    status: m.status,
    scheduledAt: m.scheduledAt?.toISOString() ?? null,
    durationMinutes: m.durationMinutes,
  };
}

export async function meetingDtos(uow: UnitOfWork, meetings: VideoMeeting[]): Promise<MeetingDto[]> {
  const hosts = await usersByIds(
    uow,
    meetings.map((m) => m.hostUserId),
  );
  const companyIds = [...new Set(meetings.flatMap((m) => (m.companyId ? [m.companyId] : [])))];
  const contactIds = [...new Set(meetings.flatMap((m) => (m.contactId ? [m.contactId] : [])))];
  const companies = new Map(
    (companyIds.length ? await uow.em.find(CompanySchema, { id: { $in: companyIds } }) : []).map((c) => [c.id, c.name]),
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
    scheduledAt: isoOrNull(m.scheduledAt),
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
    startedAt: isoOrNull(m.startedAt),
    endedAt: isoOrNull(m.endedAt),
    actualDurationSeconds: m.actualDurationSeconds ?? null,
    endReason: m.endReason ?? null,
    icsSequence: m.icsSequence,
    noteId: m.noteId ?? null,
    transcriptNoteId: m.transcriptNoteId ?? null,
    createdAt: iso(m.createdAt),
    updatedAt: iso(m.updatedAt),
    version: m.version,
  }));
}

export async function meetingDetail(uow: UnitOfWork, m: VideoMeeting): Promise<MeetingDetail> {
  const [dto] = await meetingDtos(uow, [m]);
  const attendees = await uow.em.find(
    MeetingAttendeeSchema,
    { meetingId: m.id, connectedAt: { $ne: null } },
    { orderBy: { joinedAt: 'asc' } },
  );
  const recordings = await uow.em.find(MeetingRecordingSchema, { meetingId: m.id }, { orderBy: { createdAt: 'desc' } });
  return {
    ...dto!,
    transcript: m.transcript ?? null,
    attendees: attendees.map((a) => ({
      id: a.id,
      name: a.name,
      userId: a.userId ?? null,
      contactId: a.contactId ?? null,
      isHost: a.isHost,
      joinedAt: iso(a.joinedAt),
      leftAt: isoOrNull(a.leftAt),
    })),
    recordings: recordings.map((r) => recordingDto(r)),
  };
}

export function recordingDto(r: MeetingRecording): RecordingDto {
  return {
    id: r.id,
    meetingId: r.meetingId,
    fileUrl: r.fileUrl.startsWith('blob:') ? `/api/meetings/${r.meetingId}/recordings/${r.id}/file` : r.fileUrl,
    fileSize: r.fileSize ?? null,
    fileType: r.fileType ?? null,
    durationSeconds: r.durationSeconds ?? null,
    thumbnailUrl: r.thumbnailUrl ?? null,
    transcriptUrl: r.transcriptUrl ?? null,
    createdAt: iso(r.createdAt),
  };
}

export function icsEvent(
  publicUrl: string,
  m: VideoMeeting,
  host: IcsPerson | null,
  link: string,
  attendees?: IcsPerson[],
): IcsEvent {
  const start = m.scheduledAt ?? m.createdAt;
  return {
    uid: `${m.id}@${new URL(publicUrl).hostname}`,
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
