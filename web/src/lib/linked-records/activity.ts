/** How linked record entries read on a timeline: added, changed, status changed, removed, a module's milestone. */
import { date, money } from '#lib/format.ts';
import { t } from '#lib/i18n/index.svelte.ts';
import type { ActivityOf } from '#contracts/timeline';
import { text, type ActivityView } from '#lib/timeline/activity-view.ts';

export type LinkedActivity = ActivityOf<
  | 'linked_record.created'
  | 'linked_record.updated'
  | 'linked_record.status_changed'
  | 'linked_record.deleted'
  | 'linked_record.event'
>;

const tone = 'bg-cyan-100 text-cyan-800';

/** A kind in the reader's language (a workspace's own kind: its key as written). */
export const kindLabel = (kind: string): string => t().linked.kinds[kind] ?? kind;

export function linkedView(activity: LinkedActivity): ActivityView {
  const m = t().linked;
  const d = activity.data;
  const kind = kindLabel(d.kind);
  const title = text(d.title) ?? d.externalId;
  const status = text(d.status) ?? m.states[d.state as keyof typeof m.states] ?? d.state;
  const parts: string[] = [];
  const base = { icon: 'briefcase' as const, tone, excerpt: null };
  switch (activity.type) {
    case 'linked_record.event':
      return {
        ...base,
        icon: 'pin',
        what: m.timeline.event(kind, title),
        detail: text(d.event?.title),
        excerpt: activity.description,
      };
    case 'linked_record.status_changed': {
      const from = d.from ? (text(d.from.status) ?? m.states[d.from.state as keyof typeof m.states]) : null;
      parts.push(from ? m.timeline.fromTo(from, status) : status);
      break;
    }
    case 'linked_record.updated':
      if (d.changes?.length) parts.push(m.timeline.changed(d.changes.map((f) => m.timeline.fields[f] ?? f).join(', ')));
      break;
    default:
      parts.push(status);
  }
  if (d.amount && d.currency && activity.type !== 'linked_record.deleted') parts.push(money(d.amount, d.currency));
  if (d.dueDate && activity.type === 'linked_record.created') parts.push(m.timeline.due(date(d.dueDate)));
  const verb =
    activity.type === 'linked_record.created'
      ? m.timeline.created
      : activity.type === 'linked_record.updated'
        ? m.timeline.updated
        : activity.type === 'linked_record.status_changed'
          ? m.timeline.statusChanged
          : m.timeline.deleted;
  return {
    ...base,
    icon: activity.type === 'linked_record.deleted' ? 'x' : 'briefcase',
    what: verb(kind, title),
    detail: parts.join(' · ') || null,
  };
}
