import { z } from 'zod';
import { MEETING_STATUSES } from '../../db/entities/video-meeting.entity.ts';
import { uuid } from '../crm/crm.schemas.ts';

const text = (max: number) => z.string().trim().max(max);
const dateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-12-01T15:00:00Z' });

/** Who to invite: a team member, a contact, or anyone by email. */
export const participantInput = z.union(
  [
    z.object({ userId: uuid }).strict(),
    z.object({ contactId: uuid }).strict(),
    z.object({ email: z.email().max(255), name: text(255).min(1).optional() }).strict(),
  ],
  { message: 'must be {userId}, {contactId} or {email, name?}' },
);

export const meetingInput = z
  .object({
    /** Defaults to "Video call with <company or contact>". */
    title: text(255).min(1).optional(),
    companyId: uuid.nullable().optional(),
    contactId: uuid.nullable().optional(),
    /** Absent or null: an instant meeting, starting now. */
    scheduledAt: dateTime.nullable().optional(),
    durationMinutes: z
      .number()
      .int()
      .min(5)
      .max(24 * 60)
      .default(60),
    participants: z.array(participantInput).max(100).default([]),
    notes: text(20_000).nullable().optional(),
  })
  .strict();
export type MeetingInput = z.infer<typeof meetingInput>;

export const meetingPatch = z
  .object({
    title: text(255).min(1).optional(),
    scheduledAt: dateTime.optional(),
    durationMinutes: z
      .number()
      .int()
      .min(5)
      .max(24 * 60)
      .optional(),
    participants: z.array(participantInput).max(100).optional(),
    notes: text(20_000).nullable().optional(),
  })
  .strict();
export type MeetingPatch = z.infer<typeof meetingPatch>;

export const meetingListQuery = z.object({
  companyId: uuid.optional(),
  contactId: uuid.optional(),
  /** Meetings this member hosts or is invited to. */
  userId: uuid.optional(),
  status: z.enum(MEETING_STATUSES).optional(),
  /** On `scheduledAt`: from inclusive, to exclusive. */
  from: dateTime.optional(),
  to: dateTime.optional(),
  sort: z.enum(['scheduledAt', '-scheduledAt']).default('-scheduledAt'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type MeetingListQuery = z.infer<typeof meetingListQuery>;

/** The page's reports; guests (no session) send their link's token. */
export const joinBody = z.object({ guest: z.string().max(4000).optional() }).strict();
export const presenceBody = z.object({ attendeeId: uuid, guest: z.string().max(4000).optional() }).strict();

const httpUrl = z
  .string()
  .trim()
  .max(2000)
  .regex(/^https?:\/\/\S+$/i, 'must be an http(s) URL');

export const recordingInput = z
  .object({
    fileUrl: httpUrl,
    fileSize: z.number().int().min(0).nullable().optional(),
    durationSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .nullable()
      .optional(),
    thumbnailUrl: httpUrl.nullable().optional(),
    transcriptUrl: httpUrl.nullable().optional(),
  })
  .strict();
export type RecordingInput = z.infer<typeof recordingInput>;

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
