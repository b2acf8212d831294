import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
// The enums and the participant's shape are the API's, declared once.
import {
  MEETING_END_REASONS,
  MEETING_KINDS,
  MEETING_PROVIDERS,
  MEETING_STATUSES,
  type MeetingParticipant,
} from '#contracts/meetings';
import { CompanySchema } from './company.entity.ts';
import { ContactSchema } from './contact.entity.ts';
import { NoteSchema } from './note.entity.ts';
import { tenantOwned, timestamps, versioned } from './tenant-owned.ts';
import { UserSchema } from './user.entity.ts';

/** A video call, instant or scheduled, usually with a company or contact (the seed's `video_meetings`). */
export const VideoMeetingSchema = defineEntity({
  name: 'VideoMeeting',
  tableName: 'video_meetings',
  properties: {
    ...tenantOwned,
    companyId: () =>
      p
        .manyToOne(CompanySchema)
        .mapToPk()
        .fieldName('company_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    contactId: () =>
      p
        .manyToOne(ContactSchema)
        .mapToPk()
        .fieldName('contact_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    title: p.string().length(255),
    kind: p.enum(MEETING_KINDS).default('scheduled'),
    /** When it is planned to start; for an instant meeting, when it was created. */
    scheduledAt: p.datetime().nullable(),
    durationMinutes: p.integer().default(60),
    /** The page in Filo where team members join the call. */
    meetingUrl: p.text(),
    provider: p.enum(MEETING_PROVIDERS).default('jitsi'),
    /** The Jitsi room name: 128 random bits, so that nobody finds the room by guessing. */
    roomId: p.string().length(255),
    hostUserId: () =>
      p.manyToOne(UserSchema).mapToPk().fieldName('host_user_id').deleteRule('cascade').updateRule('cascade'),
    participants: p
      .json<MeetingParticipant[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    status: p.enum(MEETING_STATUSES).default('scheduled'),
    /** The newest recording's address. */
    recordingUrl: p.text().nullable(),
    transcript: p.text().nullable(),
    /** Agenda or notes written before the call. */
    notes: p.text().nullable(),
    /** When the first participant joined, and when the call ended. */
    startedAt: p.datetime().nullable(),
    endedAt: p.datetime().nullable(),
    actualDurationSeconds: p.integer().nullable(),
    endReason: p.enum(MEETING_END_REASONS).nullable(),
    /** RFC 5545 SEQUENCE of the invitation: raised on every change calendars must apply. */
    icsSequence: p.integer().default(0),
    /** The automatic note posted when the call ended, and the note holding its transcript. */
    noteId: () =>
      p.manyToOne(NoteSchema).mapToPk().fieldName('note_id').nullable().deleteRule('set null').updateRule('cascade'),
    transcriptNoteId: () =>
      p
        .manyToOne(NoteSchema)
        .mapToPk()
        .fieldName('transcript_note_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    ...timestamps,
    version: versioned(),
  },
  indexes: [
    { properties: ['tenantId', 'companyId', 'scheduledAt'] },
    { properties: ['tenantId', 'contactId', 'scheduledAt'] },
    { properties: ['tenantId', 'hostUserId', 'scheduledAt'] },
    // The heartbeat sweep looks for calls in progress across workspaces.
    { properties: ['status'] },
  ],
});
export type VideoMeeting = InferEntity<typeof VideoMeetingSchema>;
