import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ContactSchema } from './contact.entity.ts';
import { tenantOwned, userRef } from './tenant-owned.ts';
import { VideoMeetingSchema } from './video-meeting.entity.ts';

/**
 * One presence in a call: from join to leave, kept alive by heartbeats. Someone who rejoins gets a new row;
 * the call's actual participants and duration come from these.
 */
export const MeetingAttendeeSchema = defineEntity({
  name: 'MeetingAttendee',
  tableName: 'meeting_attendees',
  properties: {
    ...tenantOwned,
    meetingId: () =>
      p.manyToOne(VideoMeetingSchema).mapToPk().fieldName('meeting_id').deleteRule('cascade').updateRule('cascade'),
    userId: () => userRef('user_id'),
    contactId: () =>
      p
        .manyToOne(ContactSchema)
        .mapToPk()
        .fieldName('contact_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    name: p.string().length(255),
    email: p.string().length(255).nullable(),
    isHost: p.boolean().default(false),
    joinedAt: p.datetime(),
    lastSeenAt: p.datetime(),
    leftAt: p.datetime().nullable(),
    /** When the page really joined the call (null: still connecting, or it never did). */
    connectedAt: p.datetime().nullable(),
  },
  indexes: [{ properties: ['tenantId', 'meetingId', 'joinedAt'] }],
});
export type MeetingAttendee = InferEntity<typeof MeetingAttendeeSchema>;
