/** A message on a messaging channel on the timeline: "SMS from Giulia Verdi", its text, and the conversation. */
import { t } from '#lib/i18n/index.svelte.ts';
import type { ActivityOf } from '#contracts/timeline';
import { text, type ActivityView } from '#lib/timeline/activity-view.ts';

export type MessagingActivity = ActivityOf<
  'message.received' | 'message.sent' | 'message.delivered' | 'message.read' | 'message.failed'
>;

export const messagingTone = 'bg-green-100 text-green-800';

export function messagingView(activity: MessagingActivity): ActivityView {
  const m = t().messaging;
  const d = activity.data;
  const channel = m.channels[d.channel] ?? d.channel;
  const who = text(d.partyName) ?? text(d.party) ?? m.someone;
  const say = {
    'message.received': m.received,
    'message.sent': m.sent,
    'message.delivered': m.delivered,
    'message.read': m.read,
    'message.failed': m.failed,
  }[activity.type];
  const failed = activity.type === 'message.failed';
  return {
    icon: failed ? 'alert' : 'message',
    tone: failed ? 'bg-red-100 text-red-800' : messagingTone,
    what: say(channel, who),
    detail: failed ? text(d.error) : null,
    excerpt: failed ? null : activity.description,
    conversationId: d.conversationId,
    ...(failed ? { warning: true } : {}),
  };
}
