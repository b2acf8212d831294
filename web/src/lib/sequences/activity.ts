/** A prospect's way through a sequence on the timeline: enrolled, each step sent, stopped (and why), completed. */
import { t } from '#lib/i18n/index.svelte.ts';
import type { ActivityOf } from '#contracts/timeline';
import { text, type ActivityView } from '#lib/timeline/activity-view.ts';

export const sequenceTone = 'bg-fuchsia-100 text-fuchsia-800';

type SequenceActivity = ActivityOf<
  'sequence.enrolled' | 'sequence.step_sent' | 'sequence.stopped' | 'sequence.completed'
>;

export function sequenceView(activity: SequenceActivity, actor: string): ActivityView {
  const m = t().sequences;
  const d = activity.data;
  const name = text(d.sequenceName) ?? '';
  switch (activity.type) {
    case 'sequence.enrolled':
      return { icon: 'user', tone: sequenceTone, what: m.enrolled(actor, name), detail: null, excerpt: null };
    case 'sequence.step_sent': {
      const from = text(d.from);
      return {
        icon: 'mail',
        tone: sequenceTone,
        what: m.stepSent(name, typeof d.position === 'number' ? d.position : 1),
        detail: [text(d.subject), from ? m.fromMailbox(from) : null].filter(Boolean).join(' · ') || null,
        excerpt: null,
      };
    }
    case 'sequence.stopped': {
      const reason = text(d.reason);
      return {
        icon: 'x',
        tone: sequenceTone,
        what: m.stopped(name),
        detail: reason ? (m.reasons[reason] ?? reason) : null,
        excerpt: null,
      };
    }
    case 'sequence.completed':
      return { icon: 'dot', tone: sequenceTone, what: m.completed(name), detail: null, excerpt: null };
  }
}
