import { randomUUID } from 'node:crypto';
import { MeetingAttendeeSchema, type MeetingAttendee } from '../../db/entities/meeting-attendee.entity.ts';
import { NoteSchema } from '../../db/entities/note.entity.ts';
import type { VideoMeeting } from '../../db/entities/video-meeting.entity.ts';
import type { MeetingEndReason } from '#contracts/meetings';
import type { UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { linkedRecord, target, activityData } from './meetings.common.ts';

/** A call nobody has reported from for this long is over (the page reports every {@link HEARTBEAT_SECONDS}). */
export const HEARTBEAT_TIMEOUT_SECONDS = 120;
export const HEARTBEAT_SECONDS = 20;

const minutesOf = (seconds: number) => (seconds > 0 ? Math.max(1, Math.round(seconds / 60)) : 0);

/** "Video call completed · 45 min · with Giulia Neri, Sara Bianchi" */
export function completedSummary(seconds: number, names: string[]): string {
  const parts = ['Video call completed', `${minutesOf(seconds)} min`];
  if (names.length) parts.push(`with ${names.join(', ')}`);
  return parts.join(' · ');
}

/** Participants still in the call: not left, and heard from within the timeout. */
export function activeCount(uow: UnitOfWork, m: VideoMeeting, now = new Date()): Promise<number> {
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
export async function completeCall(
  uow: UnitOfWork,
  activities: ActivitiesService,
  m: VideoMeeting,
  reason: MeetingEndReason,
  now: Date,
): Promise<void> {
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
  // Who was in the call: not whoever only opened the page.
  const names = participantNames(attendees.filter((a) => a.connectedAt));
  uow.em.assign(m, {
    status: 'completed',
    startedAt,
    endedAt,
    actualDurationSeconds: seconds,
    endReason: reason,
  });
  const summary = completedSummary(seconds, names);
  const where = await linkedRecord(uow, m);
  if (where.entityType !== 'meeting') {
    // The note's id is known before the flush, so that one flush writes the meeting once (one version).
    const note = em.create(NoteSchema, {
      id: randomUUID(),
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
    m.noteId = note.id;
  }
  await em.flush();
  await activities.record(uow, {
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
