/** How a meeting's timeline entries read: started, completed (duration, participants, recording), and the rest. */
import { t } from '#lib/i18n/index.svelte.ts';
import { firstNameOf } from '#lib/session.svelte.ts';
import type { ActivityOf } from '#contracts/timeline';
import { tones, type ActivityView } from '#lib/timeline/activity-view.ts';

export type MeetingActivity = ActivityOf<
  | 'meeting.scheduled'
  | 'meeting.updated'
  | 'meeting.cancelled'
  | 'meeting.started'
  | 'meeting.completed'
  | 'meeting.transcript_added'
  | 'meeting.recording_added'
>;

/** A recording's address: an upload served by Filo, or an http(s) address elsewhere (never anything else). */
export function safeRecordingUrl(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  return /^\/api\/meetings\/[\w-]+\/recordings\/[\w-]+\/file$/.test(v) || /^https?:\/\//i.test(v) ? v : null;
}

/** `recordingUrl`: a recording of this meeting added later (found by the list), for "View recording". */
export function meetingView(activity: MeetingActivity, recordingUrl?: string | null): ActivityView {
  const m = t().meetings;
  const title = activity.data.title;
  const actor = activity.actor ? firstNameOf(activity.actor.name) : t().timeline.system;
  const base = { icon: 'video' as const, tone: tones.meeting, detail: null, excerpt: null };
  switch (activity.type) {
    case 'meeting.completed': {
      const minutes = activity.data.durationMinutes ?? 0;
      const names = activity.data.participants ?? [];
      const url = safeRecordingUrl(recordingUrl ?? activity.data.recordingUrl);
      return {
        ...base,
        what: m.timeline.completed(minutes),
        detail: [title, names.length ? m.timeline.participants(names.join(', ')) : null].filter(Boolean).join(' · '),
        links: url ? [{ href: url, label: m.viewRecording }] : [],
      };
    }
    case 'meeting.started':
      return { ...base, what: m.timeline.started(title) };
    case 'meeting.scheduled':
      return { ...base, icon: 'calendar', what: m.timeline.scheduled(actor, title), excerpt: activity.description };
    case 'meeting.updated':
      return { ...base, icon: 'calendar', what: m.timeline.updated(actor, title) };
    case 'meeting.cancelled':
      return { ...base, icon: 'calendar', what: m.timeline.cancelled(actor, title) };
    case 'meeting.recording_added': {
      const url = safeRecordingUrl(activity.data.recordingUrl);
      return { ...base, what: m.timeline.recording(title), links: url ? [{ href: url, label: m.viewRecording }] : [] };
    }
    case 'meeting.transcript_added':
      return { ...base, icon: 'note', what: m.timeline.transcript(title), excerpt: activity.description };
  }
}
