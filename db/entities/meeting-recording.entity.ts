import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { tenantOwned, userRef } from './tenant-owned.ts';
import { VideoMeetingSchema } from './video-meeting.entity.ts';

/**
 * A recording of a call (the seed's `meeting_recordings`): an address elsewhere (e.g. where Jibri uploaded it),
 * or an upload kept in the blob store (`blob:<key>` in `file_url`).
 */
export const MeetingRecordingSchema = defineEntity({
  name: 'MeetingRecording',
  tableName: 'meeting_recordings',
  properties: {
    ...tenantOwned,
    meetingId: () =>
      p.manyToOne(VideoMeetingSchema).mapToPk().fieldName('meeting_id').deleteRule('cascade').updateRule('cascade'),
    fileUrl: p.text(),
    fileSize: p.bigint('number').nullable(),
    /** For uploads: the type read from the bytes. */
    fileType: p.string().length(100).nullable(),
    durationSeconds: p.integer().nullable(),
    thumbnailUrl: p.text().nullable(),
    transcriptUrl: p.text().nullable(),
    createdBy: () => userRef('created_by'),
  },
  indexes: [{ properties: ['tenantId', 'meetingId', 'createdAt'] }],
});
export type MeetingRecording = InferEntity<typeof MeetingRecordingSchema>;
