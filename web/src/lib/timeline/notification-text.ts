/** How a notification reads in the bell, its page and its toast: from its type and payload, in the interface language. */
import type { Notification } from '#contracts/timeline';
import { t } from '#lib/i18n/index.svelte.ts';
import { text } from './activity-view.ts';
import { dateTime } from '#lib/format.ts';

export function notificationText(n: Notification): string {
  const m = t();
  const actor = n.actor?.name || m.common.someone;
  switch (n.type) {
    case 'mention':
      return m.notifications.mentioned(actor, text(n.data.recordName));
    case 'assignment':
      return m.notifications.assignedYou(actor, text(n.data.subject));
    case 'account_error':
      return m.notifications.accountError(n.data.email, n.data.error);
    case 'meeting_invitation':
      return n.data.startsAt
        ? m.meetingsMore.meetings.invitedAt(actor, text(n.data.title) ?? '', dateTime(n.data.startsAt))
        : m.meetingsMore.meetings.invitedYou(actor, text(n.data.title) ?? '');
    case 'task_reminder':
      return m.tasks.notices.reminder(n.data.title);
    case 'task_assigned':
      return m.tasks.notices.assigned(actor, n.data.title);
    case 'sequence_reply':
      return m.sequences.notices.reply(n.data.contactName, n.data.sequenceName);
    case 'sending_paused':
      return m.sequences.notices.paused(n.data.target, n.data.reason);
    case 'workflow_notice':
      return m.workflows.notice(n.data.workflowName, n.data.message);
    case 'webhook_disabled':
      return m.webhooks.notices.disabled(n.data.url);
  }
  // A type this version of the app does not know (a newer server): never the English title.
  return m.notifications.title;
}
