/** How task entries read on a timeline: created, changed, completed, reopened, deleted; when due, for whom. */
import { dateTime } from '#lib/format.ts';
import { t } from '#lib/i18n/index.svelte.ts';
import type { ActivityOf } from '#contracts/timeline';
import { text, type ActivityView } from '#lib/timeline/activity-view.ts';

export type TaskActivity = ActivityOf<
  'task.created' | 'task.updated' | 'task.completed' | 'task.reopened' | 'task.deleted'
>;

const tone = {
  open: 'bg-indigo-100 text-indigo-800',
  done: 'bg-emerald-100 text-emerald-800',
  gone: 'bg-slate-200 text-slate-700',
};

export function taskView(activity: TaskActivity, actor: string): ActivityView {
  const m = t().tasks.timeline;
  const d = activity.data;
  const title = text(d.title) ?? '';
  const verb = activity.type.slice('task.'.length) as 'created' | 'updated' | 'completed' | 'reopened' | 'deleted';
  const parts: string[] = [];
  if (activity.type === 'task.updated' && d.changes) {
    const names = Object.keys(d.changes).map((k) => m.fieldNames[k] ?? k);
    if (names.length) parts.push(m.changedFields(names.join(', ')));
  }
  if (d.dueAt && activity.type !== 'task.deleted' && activity.type !== 'task.completed')
    parts.push(m.due(dateTime(d.dueAt)));
  const assignee = text(d.assignee?.name);
  if (assignee && (activity.type === 'task.created' || activity.type === 'task.updated')) parts.push(m.for(assignee));
  return {
    icon: activity.type === 'task.deleted' ? 'x' : 'pin',
    tone: activity.type === 'task.completed' ? tone.done : activity.type === 'task.deleted' ? tone.gone : tone.open,
    what: m[verb](actor, title),
    detail: parts.join(' · ') || null,
    excerpt: null,
  };
}
