import { CronExpressionParser } from 'cron-parser';
import type { WorkflowDefinition } from '#contracts/workflows';
import type { RecordType } from '#contracts/common';
import { HttpError } from '../http/errors.ts';
import type { Actor } from '../tenancy.ts';
import type { RecordsService } from '../crm/records.service.ts';
import type { CustomFieldsService } from '../crm/custom-fields.service.ts';
import type { TeamService } from '../team/team.service.ts';
import type { ListsService } from '../newsletters/lists.service.ts';
import type { SequencesService } from '../sequences/sequences.service.ts';
import type { TemplatesService } from '../outbound/templates.service.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import { PATCHES } from './actions.ts';

export interface CheckDeps {
  records: RecordsService;
  customFields: CustomFieldsService;
  team: TeamService;
  lists: ListsService;
  sequences: SequencesService;
  templates: Pick<TemplatesService, 'get'>;
  mailboxes: Pick<MailboxesService, 'get'>;
  /** Whether "call a webhook" can run on this server. */
  webhooks: boolean;
}

/** The record type a trigger's runs are about, when it says (null: any, or none for a schedule). */
export function recordTypeOf(def: WorkflowDefinition): RecordType | null {
  const t = def.trigger;
  if (t.type === 'date') return t.recordType;
  if (t.type === 'form') return 'contact';
  if (t.type === 'event') {
    const prefix = t.event.split('.')[0];
    return prefix === 'company' || prefix === 'contact' || prefix === 'deal' ? prefix : null;
  }
  return null;
}

/** Fields conditions may read besides the record's own: its owner and tags. */
const READ_ONLY = new Set(['owner', 'tags', 'id', 'createdAt', 'updatedAt', 'name', 'firstName', 'lastName']);

/**
 * What zod cannot know: fields exist on the record type (or as its custom fields), members, lists and sequences exist
 * in the workspace, the cron expression parses, the stage is one of the pipeline's. Each problem is a 400 naming the
 * place (`definition.steps.2.to`).
 */
export async function checkDefinition(d: CheckDeps, actor: Actor, def: WorkflowDefinition): Promise<void> {
  const problems: Record<string, string> = {};
  const type = recordTypeOf(def);
  const types: RecordType[] = type ? [type] : ['company', 'contact', 'deal'];
  const customs = new Set((await d.customFields.list(actor)).map((f) => `${f.entityType}:${f.fieldName}`));
  const fieldOk = (field: string, writable: boolean) =>
    types.some((t) =>
      field.startsWith('customFields.')
        ? customs.has(`${t}:${field.slice(13)}`)
        : field in PATCHES[t].shape || (!writable && READ_ONLY.has(field)),
    );
  const members = new Set((await d.team.members(actor)).map((m) => m.userId));
  const t = def.trigger;
  if (t.type === 'schedule') {
    try {
      CronExpressionParser.parse(t.cron);
      if (t.cron.trim().split(/\s+/).length !== 5)
        problems['definition.trigger.cron'] = 'five fields: minute hour day month weekday';
    } catch {
      problems['definition.trigger.cron'] = 'not a cron expression';
    }
  }
  if (t.type === 'event' && (t.toStage || t.fromStage)) {
    const keys = new Set((await d.records.stages.list(actor)).items.map((s) => s.key));
    if (t.toStage && !keys.has(t.toStage)) problems['definition.trigger.toStage'] = 'not a stage of the pipeline';
    if (t.fromStage && !keys.has(t.fromStage)) problems['definition.trigger.fromStage'] = 'not a stage of the pipeline';
  }
  if (t.type === 'date' && !fieldOk(t.field, false))
    problems['definition.trigger.field'] = 'not a date field of the record';
  if (t.type === 'form' && t.listId)
    await exists(() => d.lists.get(actor, t.listId!), problems, 'definition.trigger.listId');
  def.conditions.rules.forEach((r, i) => {
    if (!fieldOk(r.field, false)) problems[`definition.conditions.rules.${i}.field`] = 'no such field';
    if (r.field === 'owner' && typeof r.value === 'string' && r.op.includes('equals') && !members.has(r.value))
      problems[`definition.conditions.rules.${i}.value`] = 'not a member of the workspace';
  });
  for (const [i, s] of def.steps.entries()) {
    const at = `definition.steps.${i}`;
    const member = (id: string, key: string) => {
      if (id !== 'owner' && !members.has(id)) problems[`${at}.${key}`] = 'not a member of the workspace';
    };
    if (s.action === 'create_task') member(s.assignTo, 'assignTo');
    if (s.action === 'notify') member(s.to, 'to');
    if (s.action === 'assign') member(s.to, 'to');
    if (s.action === 'update_field' && !fieldOk(s.field, true)) problems[`${at}.field`] = 'no such field';
    if (s.action === 'call_webhook' && !d.webhooks) problems[`${at}.url`] = 'webhooks are not available on this server';
    if (s.action === 'add_to_list') await exists(() => d.lists.get(actor, s.listId), problems, `${at}.listId`);
    if (s.action === 'enrol_sequence')
      await exists(() => d.sequences.get(actor, s.sequenceId), problems, `${at}.sequenceId`);
    if (s.action === 'send_email') {
      await exists(() => d.mailboxes.get(actor, s.mailboxId), problems, `${at}.mailboxId`);
      await exists(() => d.templates.get(actor, s.templateId), problems, `${at}.templateId`);
    }
  }
  if (Object.keys(problems).length)
    throw new HttpError(400, 'validation_failed', 'The workflow refers to things that do not exist', problems);
}

async function exists(get: () => Promise<unknown>, problems: Record<string, string>, key: string) {
  try {
    await get();
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) problems[key] = 'not found in this workspace';
    else throw err;
  }
}
