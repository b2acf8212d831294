/** What a task made from somewhere starts with. */
import { t } from '#lib/i18n/index.svelte.ts';
import type { TaskPrefill } from './tasks.svelte.ts';

/** A conversation of the inbox: the task is about it and its customer (contact, company). */
export function taskFromConversation(c: {
  id: string;
  subject: string;
  contactId: string | null;
  companyId: string | null;
}): TaskPrefill {
  const m = t().tasks;
  return {
    title: m.followUp(c.subject),
    conversationId: c.id,
    contactId: c.contactId,
    companyId: c.companyId,
    source: 'inbox',
    linkName: `${m.linkKinds.conversation}: ${c.subject}`,
  };
}
