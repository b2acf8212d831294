import type { NotificationDto } from '../timeline/publisher.ts';
import { mailText, type MailLang } from './notify.text.ts';

/** Where a notice's link goes in the web app: the note's anchor on its record, the conversation, My tasks. */
export function noticePath(n: NotificationDto, dealCompany: ReadonlyMap<string, string | null>): string {
  const note = n.noteId ? `#note-${n.noteId}` : '';
  switch (n.entityType) {
    case 'company':
      return `/companies/${n.entityId}?tab=notes${note}`;
    case 'contact':
      return `/contacts/${n.entityId}${note}`;
    case 'deal': {
      const company = n.entityId ? dealCompany.get(n.entityId) : null;
      // A deal has no page of its own: its company's deals, as the bell opens it.
      return company ? `/companies/${company}?tab=deals` : '/deals';
    }
    case 'conversation':
      return `/inbox/${n.entityId}`;
  }
  if (n.type === 'task_reminder' || n.type === 'task_assigned') return '/tasks';
  if (n.type === 'meeting_invitation') return '/meetings';
  if (n.type === 'webhook_disabled') return '/settings/webhooks';
  return '/notifications';
}

/** One notice as a line of the mail, in the recipient's language; dates in the workspace's time zone. */
export function noticeLine(
  n: NotificationDto,
  lang: MailLang,
  timeZone: string,
): { text: string; detail: string | null } {
  const m = mailText(lang);
  const who = n.actor?.name || m.someone;
  const when = (iso: string | null | undefined) =>
    iso
      ? new Intl.DateTimeFormat(lang === 'it' ? 'it-IT' : 'en-GB', {
          timeZone,
          dateStyle: 'medium',
          timeStyle: 'short',
        }).format(new Date(iso))
      : null;
  switch (n.type) {
    case 'mention':
      return { text: m.mention(who, n.data.recordName || m.aRecord), detail: n.body };
    case 'assignment':
      return { text: m.assignment(who, n.data.subject || m.aConversation), detail: null };
    case 'task_reminder': {
      const due = when(n.data.dueAt);
      return { text: m.taskReminder(n.data.title), detail: due ? m.due(due) : null };
    }
    case 'task_assigned': {
      const due = when(n.data.dueAt);
      return { text: m.taskAssigned(who, n.data.title), detail: due ? m.due(due) : null };
    }
    case 'meeting_invitation': {
      const starts = when(n.data.startsAt);
      return { text: m.meetingInvitation(who, n.data.title), detail: starts ? m.starts(starts) : null };
    }
    case 'webhook_disabled':
      // Events stopped reaching an integration: the reason (failed deliveries) says why, Settings turns it back on.
      return { text: m.webhookDisabled(n.data.url), detail: n.data.reason };
    case 'workflow_notice':
      // The member's own words in the workflow, said as written in either language.
      return { text: `${n.data.workflowName}: ${n.data.message}`, detail: null };
  }
  return { text: m.notice, detail: null };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface NoticeMailInput {
  lang: MailLang;
  name: string;
  workspace: string;
  digest: boolean;
  items: { text: string; detail: string | null; url: string }[];
  prefsUrl: string;
}

/** The subject, plain text and HTML of one mail listing a user's notices. */
export function renderNoticeMail(input: NoticeMailInput): { subject: string; text: string; html: string } {
  const m = mailText(input.lang);
  const [first] = input.items;
  const subject = input.digest
    ? m.subjectDigest(input.items.length, input.workspace)
    : input.items.length === 1 && first
      ? first.text
      : m.subjectMany(input.items.length, input.workspace);
  const intro = input.digest ? m.digestIntro(input.workspace) : m.intro(input.workspace);
  const text = [
    m.hello(input.name),
    '',
    intro,
    '',
    ...input.items.flatMap((i) => [
      `• ${i.text}`,
      ...(i.detail ? [`  “${i.detail}”`] : []),
      `  ${m.open}: ${i.url}`,
      '',
    ]),
    '--',
    m.footer,
    input.prefsUrl,
    '',
  ].join('\n');
  const html = `<!doctype html><html lang="${input.lang}"><body style="font-family:sans-serif;color:#0f172a">
<p>${escapeHtml(m.hello(input.name))}</p>
<p>${escapeHtml(intro)}</p>
<ul style="padding-left:18px">
${input.items
  .map(
    (i) =>
      `<li style="margin-bottom:12px">${escapeHtml(i.text)}${
        i.detail ? `<br><span style="color:#475569">“${escapeHtml(i.detail)}”</span>` : ''
      }<br><a href="${escapeHtml(i.url)}">${escapeHtml(m.open)}</a></li>`,
  )
  .join('\n')}
</ul>
<hr style="border:none;border-top:1px solid #e2e8f0">
<p style="font-size:12px;color:#64748b">${escapeHtml(m.footer)} <a href="${escapeHtml(input.prefsUrl)}">${escapeHtml(m.preferences)}</a></p>
</body></html>`;
  // One line: a subject quotes names and notes of any length.
  return { subject: subject.replace(/\s+/g, ' ').slice(0, 200), text, html };
}
