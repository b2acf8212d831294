/** How a timeline entry reads: its icon, its sentence, and the detail under it, in the interface language. */
import { money, dateTime, number } from '#lib/format.ts';
import { t } from '#lib/i18n/index.svelte.ts';
import { firstNameOf } from '#lib/session.svelte.ts';
import type { Activity, ActivityOf, MailAddress } from '#contracts/timeline';
import type { IconName } from '#lib/components/ui/Icon.svelte';
import { meetingView } from '#lib/meetings/activity.ts';
import { newsletterView } from '#lib/newsletters/activity.ts';
import { taskView } from '#lib/tasks/activity.ts';
import { callView } from '#lib/calls/activity.ts';
import { messagingView } from '#lib/messaging/activity.ts';
import { sequenceView } from '#lib/sequences/activity.ts';
import { linkedView } from '#lib/linked-records/activity.ts';
import { text, tones, type ActivityView } from '#lib/timeline/activity-view.ts';
import { changeLines } from './change-text.ts';
import { pipelineStages } from './pipeline-stages.svelte.ts';

export type { ActivityView };

const noteIcons: Record<string, IconName> = { call: 'phone', meeting: 'calendar', email: 'mail' };

const who = (a: MailAddress | null | undefined): string | null => text(a?.name) ?? text(a?.address);

/** A conversation's subject in quotes, or "the conversation" for entries written before the subject was kept. */
const subjectOf = (subject: string | undefined): string => {
  const m = t().timeline;
  const s = text(subject);
  return s ? m.quoted(s) : m.theConversation;
};

const withConversation = (id: string | undefined) => (id ? { conversationId: id } : {});

type EmailActivity = ActivityOf<
  'email.received' | 'email.auto_reply' | 'email.sent' | 'email.opened' | 'email.clicked' | 'email.bounced'
>;

/** Mail on a record's timeline: who wrote (or was written to), about what, and a link to the thread. */
function emailView(activity: EmailActivity, actor: string): ActivityView {
  const m = t().timeline;
  switch (activity.type) {
    case 'email.bounced': {
      const status = text(activity.data.status);
      return {
        icon: 'alert',
        tone: tones.bounce,
        what: m.emailBounced(text(activity.data.to) ?? m.someone),
        detail: status ? m.bounceStatus(status) : null,
        excerpt: null,
        warning: true,
      };
    }
    case 'email.opened':
    case 'email.clicked': {
      // The customer's own open or click of our message (tracking mailboxes): who it was sent to.
      const d = activity.data;
      const opened = activity.type === 'email.opened';
      const to = who(d.to[0]) ?? m.someone;
      return {
        icon: opened ? 'mail' : 'globe',
        tone: tones.email,
        what: opened ? m.emailOpened(to) : m.emailClicked(to),
        detail: [text(d.subject), opened ? null : text(d.url)].filter(Boolean).join(' · ') || null,
        excerpt: null,
        ...withConversation(d.conversationId),
      };
    }
    case 'email.sent': {
      const d = activity.data;
      // The teammate who wrote it, kept with the mail; older rows name the activity's actor.
      const sender = d.sentBy?.name ? firstNameOf(d.sentBy.name) : actor;
      const to =
        d.to
          .map((a) => who(a))
          .filter(Boolean)
          .join(', ') || m.someone;
      const count = d.attachments ?? 0;
      return {
        icon: 'mail',
        tone: tones.email,
        what: m.emailSent(sender, to),
        detail: [text(d.subject), count ? m.attachments(count) : null].filter(Boolean).join(' · ') || null,
        excerpt: activity.description,
        ...withConversation(d.conversationId),
      };
    }
    case 'email.received':
    case 'email.auto_reply': {
      const d = activity.data;
      const sender = who(d.from) ?? m.someone;
      const count = d.attachments ?? 0;
      const autoReply = activity.type === 'email.auto_reply';
      return {
        icon: autoReply ? 'reply' : 'mail',
        tone: autoReply ? tones.autoReply : tones.email,
        what: autoReply ? m.autoReply(sender) : m.emailReceived(sender),
        detail: [text(d.subject), count ? m.attachments(count) : null].filter(Boolean).join(' · ') || null,
        excerpt: null,
        ...withConversation(d.conversationId),
      };
    }
  }
}

/** Status and assignee of an inbox conversation. */
function conversationView(
  activity: ActivityOf<'conversation.status_changed' | 'conversation.assigned'>,
  actor: string,
): ActivityView {
  const m = t().timeline;
  const subject = subjectOf(activity.data.subject);
  const base = { icon: 'inbox' as const, tone: tones.conversation, excerpt: null, conversationId: activity.entityId };
  if (activity.type === 'conversation.assigned') {
    const d = activity.data;
    const what = !d.to
      ? m.unassigned(actor, subject)
      : d.to === activity.actor?.id
        ? m.assignedSelf(actor, subject)
        : m.assigned(actor, subject, text(d.assigneeName) ?? m.someone);
    return { ...base, icon: 'user', what, detail: null };
  }
  const d = activity.data;
  const status = (t().inbox.statuses as Record<string, string>)[d.to] ?? d.to;
  const say = m.status[d.to];
  const reason = d.reason ? (m.statusReasons[d.reason] ?? null) : null;
  const until = d.to === 'snoozed' && d.snoozedUntil ? m.snoozedUntil(dateTime(d.snoozedUntil)) : null;
  return {
    ...base,
    what: say ? say(actor, subject) : m.statusChanged(actor, subject, status),
    detail: [reason, until].filter(Boolean).join(' · ') || null,
  };
}

/** `recordingUrl`: for a completed call, a recording of it that the same timeline holds. */
export function viewOf(activity: Activity, recordingUrl?: string | null): ActivityView {
  const m = t().timeline;
  const actor = activity.actor ? firstNameOf(activity.actor.name) : m.system;

  switch (activity.type) {
    case 'meeting.scheduled':
    case 'meeting.updated':
    case 'meeting.cancelled':
    case 'meeting.started':
    case 'meeting.completed':
    case 'meeting.transcript_added':
    case 'meeting.recording_added':
      return meetingView(activity, recordingUrl);

    case 'campaign.sent':
    case 'campaign.opened':
    case 'campaign.clicked':
    case 'email.complained':
    case 'consent.given':
    case 'consent.withdrawn':
      return newsletterView(activity);

    case 'task.created':
    case 'task.updated':
    case 'task.completed':
    case 'task.reopened':
    case 'task.deleted':
      return taskView(activity, actor);

    case 'note.added':
    case 'note.updated':
    case 'note.deleted': {
      const noteType = activity.data.noteType ?? 'general';
      const what =
        activity.type === 'note.added'
          ? m.noteAdded(actor)
          : activity.type === 'note.updated'
            ? m.noteUpdated(actor)
            : m.noteDeleted(actor);
      return {
        icon: noteIcons[noteType] ?? 'note',
        tone: tones.note,
        what,
        detail: null,
        excerpt: activity.description,
      };
    }

    case 'email.received':
    case 'email.auto_reply':
    case 'email.sent':
    case 'email.opened':
    case 'email.clicked':
    case 'email.bounced':
      return emailView(activity, actor);

    case 'conversation.status_changed':
    case 'conversation.assigned':
      return conversationView(activity, actor);

    case 'call.logged':
      return callView(activity, actor);

    case 'message.received':
    case 'message.sent':
    case 'message.delivered':
    case 'message.read':
    case 'message.failed':
      return messagingView(activity);

    case 'sequence.enrolled':
    case 'sequence.step_sent':
    case 'sequence.stopped':
    case 'sequence.completed':
      return sequenceView(activity, actor);

    case 'linked_record.created':
    case 'linked_record.updated':
    case 'linked_record.status_changed':
    case 'linked_record.deleted':
    case 'linked_record.event':
      return linkedView(activity);

    case 'deal.stage_changed': {
      const d = activity.data;
      const to = pipelineStages.label(d.to);
      const parts = [m.dealMoved(to)];
      if (d.value) parts.push(m.value(d.currency ? money(String(d.value), d.currency) : number(String(d.value))));
      if (typeof d.probability === 'number') parts.push(m.probability(d.probability));
      const kind = pipelineStages.kindOf(d.to);
      const tone = kind === 'won' ? tones.won : kind === 'lost' ? tones.lost : tones.deal;
      const icon = kind === 'won' ? 'trophy' : kind === 'lost' ? 'x' : 'trending';
      return { icon, tone, what: m.stageChanged(actor, d.name ?? '').trim(), detail: parts.join(' · '), excerpt: null };
    }

    case 'document.uploaded':
    case 'document.deleted': {
      const what = activity.type === 'document.uploaded' ? m.documentUploaded(actor) : m.documentDeleted(actor);
      return { icon: 'paperclip', tone: tones.document, what, detail: text(activity.data.fileName), excerpt: null };
    }

    case 'company.created':
    case 'company.updated':
    case 'company.deleted':
    case 'contact.created':
    case 'contact.updated':
    case 'contact.deleted':
    case 'deal.created':
    case 'deal.updated':
    case 'deal.deleted': {
      const [kind, verb] = activity.type.split('.') as ['company' | 'contact' | 'deal', string];
      const icon = kind === 'company' ? 'building' : kind === 'contact' ? 'user' : 'briefcase';
      const noun = m.kinds[kind] ?? kind;
      // Entries written before the name was kept say it without one.
      const name = activity.data.name ?? '';
      const what =
        verb === 'created'
          ? m.created(actor, noun, name)
          : verb === 'deleted'
            ? m.deleted(actor, noun, name)
            : m.updated(actor, noun, name);
      const updated =
        activity.type === 'company.updated' || activity.type === 'contact.updated' || activity.type === 'deal.updated'
          ? activity.data
          : null;
      return {
        icon,
        tone: tones[kind],
        what: what.trim(),
        detail: updated ? changeLines(kind, updated.changes, updated.currency ?? null) : null,
        excerpt: null,
      };
    }
  }
  // A kind this version of the app does not know (a newer server): said neutrally, never in another language.
  return { icon: 'dot', tone: tones.document, what: m.other(actor), detail: null, excerpt: null };
}
