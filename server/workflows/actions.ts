import type { WorkflowStep } from '#contracts/workflows';
import type { RecordType } from '#contracts/common';
import { companyPatch, contactPatch, dealPatch } from '../crm/crm.schemas.ts';
import type { RecordsService, RecordRow } from '../crm/records.service.ts';
import type { NotesService } from '../crm/notes.service.ts';
import type { TasksService } from '../tasks/tasks.service.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import type { ListMembersService } from '../newsletters/lists-members.service.ts';
import type { OutboundService } from '../outbound/outbound.service.ts';
import type { ConsentService } from '../consent/consent.service.ts';
import type { EnrolmentsService } from '../sequences/enrol.ts';
import { HttpError } from '../http/errors.ts';
import type { Actor, UnitOfWork } from '../tenancy.ts';

/** The outbound call of "call a webhook": signed and SSRF-guarded by the webhooks domain. */
export interface WebhookCaller {
  callOnce(actor: Actor, call: { url: string; body: unknown }): Promise<{ ok: boolean; status: number }>;
}

/** The owning domains' public services the actions go through (never their tables). */
export interface ActionDeps {
  records: RecordsService;
  tasks: TasksService;
  notes: NotesService;
  notifications: NotificationsService;
  listMembers: ListMembersService;
  enrolments: EnrolmentsService;
  webhooks?: WebhookCaller | undefined;
  outbound: Pick<OutboundService, 'start'>;
  consent: Pick<ConsentService, 'refusal'>;
}

export interface ActionContext {
  actor: Actor;
  workflow: { id: string; name: string };
  runId: string;
  record: { type: RecordType; id: string } | null;
}

/** A problem no retry fixes (a missing record, a refused value): the run fails at once. */
export const permanent = (message: string) => new HttpError(422, 'workflow_step_failed', message);

export const PATCHES = { company: companyPatch, contact: contactPatch, deal: dealPatch } as const;

const needRecord = (ctx: ActionContext, ...types: RecordType[]) => {
  if (!ctx.record || (types.length && !types.includes(ctx.record.type)))
    throw permanent(`this step needs a ${types.join(' or ') || 'record'} to act on`);
  return ctx.record;
};
const ownerOf = (row: RecordRow | null) => (row?.assignedTo as string | null | undefined) ?? null;
const whom = (to: string, row: RecordRow | null) => {
  const id = to === 'owner' ? ownerOf(row) : to;
  if (!id) throw permanent('the record has no owner');
  return id;
};

/**
 * The workflow's actions, each through its domain's service. Steps that can run in the caller's transaction
 * (`inUow`: a task, a notice) commit with the run's progress and so happen once; the others run in their service's
 * own transaction, and a crash between that and the progress write repeats them on the retry.
 */
export class WorkflowActions {
  readonly #d: ActionDeps;

  constructor(deps: ActionDeps) {
    this.#d = deps;
  }

  /** Whether "call a webhook" can run here (the webhooks domain is wired). */
  get webhooksAvailable(): boolean {
    return this.#d.webhooks !== undefined;
  }

  /** The record the run is about, as it is now (null when it has none or it was deleted). */
  async load(uow: UnitOfWork, record: ActionContext['record']): Promise<RecordRow | null> {
    if (!record) return null;
    try {
      return await this.#d.records.find(uow, record.type, record.id);
    } catch {
      return null;
    }
  }

  /** Runs one step; answers what it did (the step log's `result`). */
  async run(uow: UnitOfWork, step: WorkflowStep, ctx: ActionContext): Promise<Record<string, unknown>> {
    const d = this.#d;
    const row = await this.load(uow, ctx.record);
    if (ctx.record && !row) throw permanent('the record no longer exists');
    switch (step.action) {
      case 'create_task': {
        const links = ctx.record ? { [`${ctx.record.type}Id`]: ctx.record.id } : {};
        if (ctx.record?.type === 'deal' && row?.companyId) links.companyId = row.companyId as string;
        const task = await d.tasks.createIn(uow, {
          title: step.title,
          priority: 'normal',
          assigneeId: whom(step.assignTo, row),
          ...(step.dueInDays !== undefined
            ? { dueAt: new Date(Date.now() + step.dueInDays * 86_400_000).toISOString() }
            : {}),
          ...links,
          source: 'bot',
        });
        return { taskId: task.id, assigneeId: task.assignee?.id ?? null };
      }
      case 'notify': {
        const userId = whom(step.to, row);
        const n = await d.notifications.create(uow, userId, {
          type: 'workflow_notice',
          title: `${ctx.workflow.name}: ${step.message}`.slice(0, 255),
          body: step.message,
          entityType: ctx.record?.type ?? null,
          entityId: ctx.record?.id ?? null,
          data: { workflowId: ctx.workflow.id, workflowName: ctx.workflow.name, message: step.message },
        });
        return { notificationId: n.id, userId };
      }
      case 'assign': {
        const rec = needRecord(ctx, 'company', 'deal');
        await d.records.update(ctx.actor, rec.type, rec.id, { assignedTo: step.to });
        return { assignedTo: step.to };
      }
      case 'update_field': {
        const rec = needRecord(ctx);
        const patch = step.field.startsWith('customFields.')
          ? { customFields: { ...(row?.customFields ?? {}), [step.field.slice(13)]: step.value } }
          : { [step.field]: step.value };
        const parsed = PATCHES[rec.type].safeParse(patch);
        if (!parsed.success) throw permanent(`${step.field}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        await d.records.update(ctx.actor, rec.type, rec.id, parsed.data as Record<string, unknown>);
        return { field: step.field, value: step.value };
      }
      case 'add_tag': {
        // Deals have no tags: the tag goes on the deal's company.
        const target =
          ctx.record?.type === 'deal'
            ? row?.companyId
              ? { type: 'company' as const, id: row.companyId as string }
              : null
            : needRecord(ctx, 'company', 'contact');
        if (!target) throw permanent('the deal has no company to tag');
        const current = await d.records.find(uow, target.type, target.id);
        const tags = (current.tags as string[] | undefined) ?? [];
        if (!tags.includes(step.tag))
          await d.records.update(ctx.actor, target.type, target.id, { tags: [...tags, step.tag] });
        return { tag: step.tag, on: target };
      }
      case 'add_note': {
        const rec = needRecord(ctx);
        const note = await d.notes.create(ctx.actor, {
          entityType: rec.type,
          entityId: rec.id,
          content: step.body,
          noteType: 'general',
          isPinned: false,
          mentions: [],
        });
        return { noteId: note.id };
      }
      case 'add_to_list': {
        const rec = needRecord(ctx);
        const input =
          rec.type === 'contact'
            ? { contactIds: [rec.id] }
            : { companyIds: [rec.type === 'company' ? rec.id : ((row?.companyId as string | null) ?? rec.id)] };
        return { ...(await d.listMembers.add(ctx.actor, step.listId, input, {})) };
      }
      case 'enrol_sequence': {
        const rec = needRecord(ctx, 'contact');
        return {
          ...(await d.enrolments.enrol(ctx.actor, step.sequenceId, { source: 'selection', contactIds: [rec.id] })),
        };
      }
      case 'call_webhook': {
        if (!d.webhooks) throw permanent('webhooks are not available on this server');
        const { ok, status } = await d.webhooks.callOnce(ctx.actor, {
          url: step.url,
          body: { workflowId: ctx.workflow.id, runId: ctx.runId, record: ctx.record, data: row },
        });
        // A receiver that fails is tried again by the run job's retries; a refused address is a 400 (final).
        if (!ok) throw new Error(`the webhook answered ${status}`);
        return { status };
      }
      case 'send_email': {
        const rec = needRecord(ctx, 'contact', 'deal');
        const contactId = rec.type === 'contact' ? rec.id : ((row?.contactId as string | null) ?? null);
        if (!contactId) throw permanent('the deal has no contact to write to');
        const contact = await d.records.find(uow, 'contact', contactId);
        const email = (contact.email as string | null) ?? null;
        if (!email) throw permanent('the contact has no email address');
        // Unsubscribed, bounced or complained: the step is done and says why, nothing is sent.
        const refused = await d.consent.refusal(uow.em, 'email', email);
        if (refused) return { skipped: 'suppressed', reason: refused.status };
        const sent = await d.outbound.start(ctx.actor, {
          mailboxId: step.mailboxId,
          templateId: step.templateId,
          to: [email],
          contactId,
          format: 'markdown',
        });
        return { messageId: sent.id, to: email };
      }
      case 'wait':
        return {};
    }
  }
}
