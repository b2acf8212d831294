import type { NewActivity } from '../timeline/activities.service.ts';
import type { LinkedRow } from './linked-records.queries.ts';

export type LinkedEvent =
  | 'linked_record.created'
  | 'linked_record.updated'
  | 'linked_record.status_changed'
  | 'linked_record.deleted'
  | 'linked_record.event';

const KIND_WORD: Record<string, string> = { project: 'Project', invoice: 'Invoice', production_job: 'Production job' };
const VERB: Record<LinkedEvent, string> = {
  'linked_record.created': 'added',
  'linked_record.updated': 'updated',
  'linked_record.status_changed': 'status changed',
  'linked_record.deleted': 'removed',
  'linked_record.event': 'event',
};

/** The record whose timeline tells of it: its deal, else its contact, else its company (whose timeline shows all). */
function timelineOf(r: LinkedRow): { entityType: string; entityId: string } {
  if (r.deal_id) return { entityType: 'deal', entityId: r.deal_id };
  if (r.contact_id) return { entityType: 'contact', entityId: r.contact_id };
  return { entityType: 'company', entityId: r.company_id! };
}

export interface LinkedTimelineExtra {
  from?: { status: string | null; state: string };
  changes?: string[];
  event?: { title: string; occurredAt: string | null };
  description?: string | null;
}

/** The timeline entry of a linked record's event, on its CRM record and its company. */
export function linkedTimeline(r: LinkedRow, type: LinkedEvent, extra: LinkedTimelineExtra = {}): NewActivity {
  const word = KIND_WORD[r.kind] ?? r.kind;
  const headline =
    type === 'linked_record.event' && extra.event
      ? `${word} ${r.title}: ${extra.event.title}`
      : `${word} ${VERB[type]}: ${r.title}`;
  return {
    ...timelineOf(r),
    companyId: r.company_id,
    type,
    title: headline,
    description: extra.description ?? null,
    mailboxId: null,
    data: {
      linkedRecordId: r.id,
      kind: r.kind,
      tab: r.tab,
      source: r.source,
      externalId: r.external_id,
      title: r.title,
      status: r.status,
      state: r.state,
      amount: r.amount,
      currency: r.currency,
      dueDate: r.due_date,
      url: r.url,
      ...(extra.from ? { from: extra.from } : {}),
      ...(extra.changes ? { changes: extra.changes } : {}),
      ...(extra.event ? { event: extra.event } : {}),
    },
  };
}
