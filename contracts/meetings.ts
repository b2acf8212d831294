import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';

/**
 * Video meetings: what the API takes (scheduling, the call page's reports, recordings, transcripts) and what it
 * answers (meetings, attendees, guests' lobby, the call's Jitsi settings, calendar feeds), with their enums.
 */

export const MEETING_STATUSES = ['scheduled', 'in_progress', 'completed', 'cancelled'] as const;
export const meetingStatus = z.enum(MEETING_STATUSES);
export type MeetingStatus = z.infer<typeof meetingStatus>;

/** Instant meetings start now (from a quick action); scheduled ones have a time and a calendar invitation. */
export const MEETING_KINDS = ['instant', 'scheduled'] as const;
export const meetingKind = z.enum(MEETING_KINDS);
export type MeetingKind = z.infer<typeof meetingKind>;

export const MEETING_PROVIDERS = ['jitsi', 'zoom', 'meet', 'teams'] as const;
export const meetingProvider = z.enum(MEETING_PROVIDERS);
export type MeetingProvider = z.infer<typeof meetingProvider>;

/** Why a call ended: the host (or an admin) ended it, the last participant left, or nobody was heard from. */
export const MEETING_END_REASONS = ['host_ended', 'last_left', 'timeout'] as const;
export const meetingEndReason = z.enum(MEETING_END_REASONS);
export type MeetingEndReason = z.infer<typeof meetingEndReason>;

/** Who an invitation goes to: a team member, a contact, or any email address. */
export const PARTICIPANT_TYPES = ['user', 'contact', 'email'] as const;

// ---- Requests ----

const id = z.uuid();
const text = (max: number) => z.string().trim().max(max);
const dateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-12-01T15:00:00Z' });
const minutes = z
  .number()
  .int()
  .min(5)
  .max(24 * 60);
const recordingSeconds = z
  .number()
  .int()
  .min(0)
  .max(7 * 24 * 3600);

/** Who to invite: a team member, a contact, or anyone by email. */
export const participantInput = z.union(
  [
    z.object({ userId: id }).strict(),
    z.object({ contactId: id }).strict(),
    z.object({ email: z.email().max(255), name: text(255).min(1).optional() }).strict(),
  ],
  { message: 'must be {userId}, {contactId} or {email, name?}' },
);
export type ParticipantInput = z.input<typeof participantInput>;

export const meetingInput = z
  .object({
    /** Defaults to "Video call with <company or contact>". */
    title: text(255).min(1).optional(),
    companyId: id.nullable().optional(),
    contactId: id.nullable().optional(),
    /** Absent or null: an instant meeting, starting now. */
    scheduledAt: dateTime.nullable().optional(),
    durationMinutes: minutes.default(60),
    participants: z.array(participantInput).max(100).default([]),
    notes: text(20_000).nullable().optional(),
  })
  .strict();
/** As sent (defaults not applied); the server works with the parsed `z.infer`. */
export type MeetingInput = z.input<typeof meetingInput>;

export const meetingPatch = z
  .object({
    title: text(255).min(1).optional(),
    scheduledAt: dateTime.optional(),
    durationMinutes: minutes.optional(),
    participants: z.array(participantInput).max(100).optional(),
    notes: text(20_000).nullable().optional(),
  })
  .strict();
export type MeetingPatch = z.input<typeof meetingPatch>;

export const meetingListQuery = z.object({
  companyId: id.optional(),
  contactId: id.optional(),
  /** Meetings this member hosts or is invited to. */
  userId: id.optional(),
  status: meetingStatus.optional(),
  /** On `scheduledAt`: from inclusive, to exclusive. */
  from: dateTime.optional(),
  to: dateTime.optional(),
  sort: z.enum(['scheduledAt', '-scheduledAt']).default('-scheduledAt'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type MeetingListQuery = z.input<typeof meetingListQuery>;

/** The call page's reports; guests (no session) send their link's token. */
export const joinBody = z.object({ guest: z.string().max(4000).optional() }).strict();
export const presenceBody = z.object({ attendeeId: id, guest: z.string().max(4000).optional() }).strict();

const httpUrl = z
  .string()
  .trim()
  .max(2000)
  .regex(/^https?:\/\/\S+$/i, 'must be an http(s) URL');

/** A recording kept elsewhere (e.g. by a Jibri finalize script), by its address. */
export const recordingInput = z
  .object({
    fileUrl: httpUrl,
    fileSize: z.number().int().min(0).nullable().optional(),
    durationSeconds: recordingSeconds.nullable().optional(),
    thumbnailUrl: httpUrl.nullable().optional(),
    transcriptUrl: httpUrl.nullable().optional(),
  })
  .strict();
export type RecordingInput = z.input<typeof recordingInput>;

/** Fields of a multipart recording upload (sent before the file). */
export const recordingUploadFields = z.object({
  durationSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .optional(),
});

export const TRANSCRIPT_MAX_CHARS = 500_000;
export const transcriptInput = z.object({ text: z.string().trim().min(1).max(TRANSCRIPT_MAX_CHARS) }).strict();

// ---- Answers ----

/** An invitee as stored: members and contacts resolved to their name and email. */
export const meetingParticipant = z.object({
  type: z.enum(PARTICIPANT_TYPES),
  userId: uuid.optional(),
  contactId: uuid.optional(),
  name: z.string(),
  email: z.string().nullable(),
});
export type MeetingParticipant = z.infer<typeof meetingParticipant>;

export const meeting = z.object({
  id: uuid,
  title: z.string(),
  kind: meetingKind,
  status: meetingStatus,
  companyId: uuid.nullable(),
  contactId: uuid.nullable(),
  /** The linked records' names, for lists that show meetings of many records. */
  companyName: z.string().nullable(),
  contactName: z.string().nullable(),
  scheduledAt: isoDate.nullable(),
  durationMinutes: z.number().int(),
  /** The page in Filo where team members join the call. */
  meetingUrl: z.string(),
  provider: meetingProvider,
  roomId: z.string(),
  hostUserId: uuid,
  hostName: z.string().nullable(),
  participants: z.array(meetingParticipant),
  /** The newest recording's address. */
  recordingUrl: z.string().nullable(),
  notes: z.string().nullable(),
  hasTranscript: z.boolean(),
  startedAt: isoDate.nullable(),
  endedAt: isoDate.nullable(),
  actualDurationSeconds: z.number().int().nullable(),
  endReason: meetingEndReason.nullable(),
  /** RFC 5545 SEQUENCE of the invitation. */
  icsSequence: z.number().int(),
  /** The automatic note posted when the call ended, and the note holding its transcript. */
  noteId: uuid.nullable(),
  transcriptNoteId: uuid.nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  version: z.number().int(),
});
export type Meeting = z.infer<typeof meeting>;

export const meetingList = z.object({ items: z.array(meeting) });

/** One presence in a call, from join to leave (someone who rejoins has several). */
export const meetingAttendee = z.object({
  id: uuid,
  name: z.string(),
  userId: uuid.nullable(),
  contactId: uuid.nullable(),
  isHost: z.boolean(),
  joinedAt: isoDate,
  leftAt: isoDate.nullable(),
});
export type MeetingAttendee = z.infer<typeof meetingAttendee>;

export const recording = z.object({
  id: uuid,
  meetingId: uuid,
  /** An uploaded file's is `/api/meetings/<id>/recordings/<id>/file`. */
  fileUrl: z.string(),
  fileSize: z.number().int().nullable(),
  fileType: z.string().nullable(),
  durationSeconds: z.number().int().nullable(),
  thumbnailUrl: z.string().nullable(),
  transcriptUrl: z.string().nullable(),
  createdAt: isoDate,
});
export type Recording = z.infer<typeof recording>;

export const recordingList = z.object({ items: z.array(recording) });

export const meetingDetail = meeting.extend({
  transcript: z.string().nullable(),
  attendees: z.array(meetingAttendee),
  recordings: z.array(recording),
});
export type MeetingDetail = z.infer<typeof meetingDetail>;

/** What the call page knows before joining; guests see no CRM data (no company or contact). */
export const lobbyView = z.object({
  id: uuid,
  title: z.string(),
  kind: meetingKind,
  status: meetingStatus,
  scheduledAt: isoDate.nullable(),
  durationMinutes: z.number().int(),
  hostName: z.string().nullable(),
  /** Members only: the company to show beside the call. */
  companyId: uuid.nullable(),
  contactId: uuid.nullable(),
  displayName: z.string(),
  guest: z.boolean(),
  /** When a call that has not started can be joined (its host may start it any time). */
  opensAt: isoDate,
  closesAt: isoDate,
});
export type LobbyView = z.infer<typeof lobbyView>;

/** What the call page needs to connect: where Jitsi is, which room, as whom, and the token if Jitsi wants one. */
export const joinInfo = z.object({
  attendeeId: uuid,
  meeting: lobbyView,
  domain: z.string(),
  libUrl: z.string(),
  serviceUrl: z.string(),
  hosts: z.object({ domain: z.string(), muc: z.string() }),
  roomName: z.string(),
  displayName: z.string(),
  email: z.string().nullable(),
  moderator: z.boolean(),
  jwt: z.string().nullable(),
  heartbeatSeconds: z.number().int(),
});
export type JoinInfo = z.infer<typeof joinInfo>;

/** Whether the call goes on, so that a page left alone can leave. */
export const heartbeatAnswer = z.object({ status: meetingStatus, inCall: z.boolean() });
export type HeartbeatAnswer = z.infer<typeof heartbeatAnswer>;

export const leaveAnswer = z.object({ status: meetingStatus });
export type LeaveAnswer = z.infer<typeof leaveAnswer>;

/** A member's secret calendar feed: whether there is one (its URL is shown only when made). */
export const calendarFeedStatus = z.object({
  active: z.boolean(),
  createdAt: isoDate.nullable(),
  lastUsedAt: isoDate.nullable(),
});
export type CalendarFeedStatus = z.infer<typeof calendarFeedStatus>;

export const calendarFeedCreated = z.object({ url: z.string(), createdAt: isoDate });
export type CalendarFeedCreated = z.infer<typeof calendarFeedCreated>;
