/** A new trigger or step of each kind, as the builder adds it (valid once its blanks are filled). */
import type { WorkflowStep, WorkflowTrigger } from '#contracts/workflows';

export function blankTrigger(type: WorkflowTrigger['type']): WorkflowTrigger {
  switch (type) {
    case 'event':
      return { type, event: 'deal.stage_changed' };
    case 'schedule':
      return { type, cron: '0 9 * * 1' };
    case 'form':
      return { type, listId: null };
    case 'date':
      return { type, recordType: 'deal', field: 'expectedCloseDate', daysBefore: 30 };
  }
}

export function blankStep(action: WorkflowStep['action']): WorkflowStep {
  switch (action) {
    case 'create_task':
      return { action, title: '', assignTo: 'owner' };
    case 'assign':
      return { action, to: '' };
    case 'update_field':
      return { action, field: '', value: '' };
    case 'add_tag':
      return { action, tag: '' };
    case 'add_note':
      return { action, body: '' };
    case 'add_to_list':
      return { action, listId: '' };
    case 'enrol_sequence':
      return { action, sequenceId: '' };
    case 'notify':
      return { action, to: 'owner', message: '' };
    case 'call_webhook':
      return { action, url: '' };
    case 'send_email':
      return { action, mailboxId: '', templateId: '' };
    case 'wait':
      return { action, minutes: 60 };
  }
}
