/** A logged call on the timeline: "Call with Maria Rossi · Connected · 4 min", who logged it, and the note. */
import { t } from '#lib/i18n/index.svelte.ts';
import type { ActivityOf } from '#contracts/timeline';
import { text, type ActivityView } from '#lib/timeline/activity-view.ts';

export const callTone = 'bg-lime-100 text-lime-800';

/** "4 min" (rounded) from a minute on, "45 s" below. */
export function callDuration(seconds: number): string {
  const m = t().calls;
  return seconds < 60 ? m.seconds(seconds) : m.minutes(Math.round(seconds / 60));
}

export function callView(activity: ActivityOf<'call.logged'>, actor: string): ActivityView {
  const m = t().calls;
  const d = activity.data;
  const who = text(d.contactName) ?? text((d as { companyName?: unknown }).companyName) ?? m.someone;
  const seconds = typeof d.durationSeconds === 'number' ? d.durationSeconds : null;
  const what = [m.callWith(who), m.outcomes[d.outcome] ?? d.outcome, seconds !== null ? callDuration(seconds) : null]
    .filter(Boolean)
    .join(' · ');
  const direction = m.directions[d.direction] ?? d.direction;
  return {
    icon: 'phone',
    tone: callTone,
    what,
    detail: [m.loggedBy(direction, actor), text(d.phone)].filter(Boolean).join(' · '),
    excerpt: text(d.note),
    markdown: true,
  };
}
