/** How a timeline entry reads: its icon, its sentence, and the detail under it, in the interface language. */
import { money } from '#lib/format.ts';
import { t } from '#lib/i18n/index.svelte.ts';
import { firstNameOf } from '#lib/session.svelte.ts';
import type { DealStage } from '#contracts/crm';
import type { Activity } from './types.ts';
import type { IconName } from '#lib/components/ui/Icon.svelte';
import { DEAL_STAGES } from '#contracts/crm';
import { meetingView } from '#lib/meetings/activity.ts';

export interface ActivityView {
  icon: IconName;
  /** Tailwind classes of the icon's circle. */
  tone: string;
  what: string;
  detail: string | null;
  /** A note's excerpt, shown as a quote. */
  excerpt: string | null;
  /** The inbox conversation an email entry opens. */
  conversationId?: string;
  /** Something went wrong (a bounce): shown in a warning style. */
  warning?: boolean;
  /** Links under the entry, e.g. a call's "View recording". */
  links?: { href: string; label: string }[];
}

const tones = {
  note: 'bg-amber-100 text-amber-800',
  deal: 'bg-indigo-100 text-indigo-800',
  won: 'bg-emerald-100 text-emerald-800',
  lost: 'bg-red-100 text-red-800',
  contact: 'bg-sky-100 text-sky-800',
  company: 'bg-violet-100 text-violet-800',
  document: 'bg-slate-200 text-slate-800',
  email: 'bg-sky-100 text-sky-800',
  autoReply: 'bg-slate-100 text-slate-500',
  bounce: 'bg-red-100 text-red-800',
};

const noteIcons: Record<string, IconName> = { call: 'phone', meeting: 'calendar', email: 'mail' };

/** The record's name: what follows "Contact created: " in the server's title. */
function subjectOf(title: string): string {
  const i = title.indexOf(': ');
  return i === -1 ? title : title.slice(i + 2);
}

const isStage = (v: unknown): v is DealStage => typeof v === 'string' && (DEAL_STAGES as readonly string[]).includes(v);

function changedFields(activity: Activity): string | null {
  const changes = activity.data.changes;
  if (!changes || typeof changes !== 'object') return null;
  const m = t();
  const labels: Record<string, string> = {
    ...m.deal.fields,
    ...m.contact.fields,
    ...m.company.fields,
  };
  const keys = Object.keys(changes).map((k) =>
    k.startsWith('customFields') ? m.company.fields.customFields : (labels[k] ?? k),
  );
  return keys.length ? m.timeline.changed([...new Set(keys)].join(', ')) : null;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);

/** `email.received`, `email.auto_reply` and `email.bounced`: who wrote, about what, and a link to the thread. */
function emailView(activity: Activity, verb: string | undefined): ActivityView {
  const m = t().timeline;
  const d = activity.data;
  if (verb === 'bounced') {
    const to = text(d.to) ?? m.someone;
    const status = text(d.status);
    return {
      icon: 'alert',
      tone: tones.bounce,
      what: m.emailBounced(to),
      detail: status ? m.bounceStatus(status) : null,
      excerpt: null,
      warning: true,
    };
  }
  if (verb === 'opened' || verb === 'clicked') {
    // The customer's own open or click of our message (tracking mailboxes): who it was sent to.
    const to = Array.isArray(d.to) ? (d.to[0] as { address?: unknown; name?: unknown } | undefined) : undefined;
    const who = text(to?.name) ?? text(to?.address) ?? m.someone;
    const conversationId = text(d.conversationId);
    return {
      icon: verb === 'opened' ? 'mail' : 'globe',
      tone: tones.email,
      what: verb === 'opened' ? m.emailOpened(who) : m.emailClicked(who),
      detail: [text(d.subject), verb === 'clicked' ? text(d.url) : null].filter(Boolean).join(' · ') || null,
      excerpt: null,
      ...(conversationId ? { conversationId } : {}),
    };
  }
  const from = d.from && typeof d.from === 'object' ? (d.from as { address?: unknown; name?: unknown }) : {};
  const sender = text(from.name) ?? text(from.address) ?? m.someone;
  const subject = text(d.subject);
  const count = typeof d.attachments === 'number' ? d.attachments : 0;
  const detail = [subject, count ? m.attachments(count) : null].filter(Boolean).join(' · ') || null;
  const conversationId = text(d.conversationId);
  const autoReply = verb === 'auto_reply';
  return {
    icon: autoReply ? 'reply' : 'mail',
    tone: autoReply ? tones.autoReply : tones.email,
    what: autoReply ? m.autoReply(sender) : m.emailReceived(sender),
    detail,
    excerpt: null,
    ...(conversationId ? { conversationId } : {}),
  };
}

/** `recordingUrl`: for a completed call, a recording of it that the same timeline holds. */
export function viewOf(activity: Activity, recordingUrl?: string | null): ActivityView {
  const m = t().timeline;
  const actor = activity.actor ? firstNameOf(activity.actor.name) : m.system;
  const [kind, verb] = activity.type.split('.') as [string, string | undefined];
  const subject = subjectOf(activity.title);

  if (kind === 'meeting') return meetingView(activity, recordingUrl);

  if (kind === 'note') {
    const noteType = typeof activity.data.noteType === 'string' ? activity.data.noteType : 'general';
    const what =
      verb === 'added' ? m.noteAdded(actor) : verb === 'updated' ? m.noteUpdated(actor) : m.noteDeleted(actor);
    return { icon: noteIcons[noteType] ?? 'note', tone: tones.note, what, detail: null, excerpt: activity.description };
  }

  if (kind === 'email') return emailView(activity, verb);

  if (activity.type === 'deal.stage_changed') {
    const to = activity.data.to;
    const parts = [m.dealMoved(isStage(to) ? t().deal.stages[to] : String(to))];
    if (activity.data.value) parts.push(m.value(money(String(activity.data.value))));
    if (typeof activity.data.probability === 'number') parts.push(m.probability(activity.data.probability));
    const tone = to === 'won' ? tones.won : to === 'lost' ? tones.lost : tones.deal;
    const icon = to === 'won' ? 'trophy' : to === 'lost' ? 'x' : 'trending';
    return { icon, tone, what: m.stageChanged(actor, subject), detail: parts.join(' · '), excerpt: null };
  }

  if (kind === 'document') {
    const fileName = typeof activity.data.fileName === 'string' ? activity.data.fileName : null;
    const what = verb === 'uploaded' ? m.documentUploaded(actor) : m.documentDeleted(actor);
    return { icon: 'paperclip', tone: tones.document, what, detail: fileName, excerpt: null };
  }

  if (kind === 'company' || kind === 'contact' || kind === 'deal') {
    const icon = kind === 'company' ? 'building' : kind === 'contact' ? 'user' : 'briefcase';
    const noun = m.kinds[kind] ?? kind;
    const what =
      verb === 'created'
        ? m.created(actor, noun, subject)
        : verb === 'deleted'
          ? m.deleted(actor, noun, subject)
          : m.updated(actor, noun, subject);
    return {
      icon,
      tone: tones[kind],
      what,
      detail: verb === 'updated' ? changedFields(activity) : null,
      excerpt: null,
    };
  }

  return { icon: 'dot', tone: tones.document, what: activity.title, detail: null, excerpt: activity.description };
}
