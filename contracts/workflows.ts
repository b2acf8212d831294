import { z } from './zod.ts';
import { isoDate, RECORD_TYPES, uuid } from './common.ts';
import { ACTIVITY_TYPES, type ActivityType } from './timeline.ts';

/**
 * Workflows (issue 17): a trigger, conditions on the triggering record, and steps (actions and waits). Each save of a
 * workflow makes a new immutable version; a run finishes on the version it started with.
 */

/** How deep a chain of workflow runs may go: a run caused by a workflow's own change past this is skipped. */
export const WORKFLOW_MAX_DEPTH = 3;

const text = (max: number) => z.string().trim().min(1).max(max);
/** A record field: `title`, `stage`, `value`, `expectedCloseDate`…, or `customFields.<key>`. */
const fieldName = z
  .string()
  .regex(/^(customFields\.)?[a-zA-Z][a-zA-Z0-9_]{0,62}$/, 'a field name, or customFields.<key>');
/** `owner` (the record's assignee) or a member's id. */
const who = z.union([z.literal('owner'), uuid]);

export const workflowTrigger = z.discriminatedUnion('type', [
  /** An activity of the timeline; a stage change can be narrowed to the stage moved to (and from). */
  z
    .object({
      type: z.literal('event'),
      event: z.enum(ACTIVITY_TYPES as [ActivityType, ...ActivityType[]]),
      toStage: z.string().max(64).optional(),
      fromStage: z.string().max(64).optional(),
    })
    .strict(),
  /** A cron expression (5 fields) read in the workspace's time zone. */
  z.object({ type: z.literal('schedule'), cron: text(100) }).strict(),
  /** Someone subscribed through a newsletter list's public form (any list, or one). */
  z.object({ type: z.literal('form'), listId: uuid.nullable().optional() }).strict(),
  /** A date field of a record is `daysBefore` days away (0: the day itself); fires once per record and date. */
  z
    .object({
      type: z.literal('date'),
      recordType: z.enum(RECORD_TYPES),
      field: fieldName,
      daysBefore: z.number().int().min(0).max(365),
    })
    .strict(),
]);
export type WorkflowTrigger = z.infer<typeof workflowTrigger>;

export const CONDITION_OPS = ['equals', 'not_equals', 'contains', 'greater', 'less', 'empty', 'not_empty'] as const;
export const workflowRule = z
  .object({
    /** A field of the record, `tags` (contains = has the tag) or `owner` (equals a member's id). */
    field: fieldName,
    op: z.enum(CONDITION_OPS),
    value: z.union([z.string().max(500), z.number()]).optional(),
  })
  .strict();
export const workflowConditions = z
  .object({ match: z.enum(['all', 'any']), rules: z.array(workflowRule).max(20) })
  .strict();
export type WorkflowConditions = z.infer<typeof workflowConditions>;

export const WORKFLOW_ACTIONS = [
  'create_task',
  'assign',
  'update_field',
  'add_tag',
  'add_note',
  'add_to_list',
  'enrol_sequence',
  'notify',
  'call_webhook',
  'send_email',
  'wait',
] as const;
export type WorkflowAction = (typeof WORKFLOW_ACTIONS)[number];

export const workflowStep = z.discriminatedUnion('action', [
  z
    .object({
      action: z.literal('create_task'),
      title: text(500),
      assignTo: who,
      dueInDays: z.number().int().min(0).max(365).optional(),
    })
    .strict(),
  z.object({ action: z.literal('assign'), to: uuid }).strict(),
  z
    .object({
      action: z.literal('update_field'),
      field: fieldName,
      value: z.union([z.string().max(500), z.number(), z.null()]),
    })
    .strict(),
  z.object({ action: z.literal('add_tag'), tag: text(50) }).strict(),
  z.object({ action: z.literal('add_note'), body: text(5000) }).strict(),
  z.object({ action: z.literal('add_to_list'), listId: uuid }).strict(),
  z.object({ action: z.literal('enrol_sequence'), sequenceId: uuid }).strict(),
  z.object({ action: z.literal('notify'), to: who, message: text(500) }).strict(),
  z.object({ action: z.literal('call_webhook'), url: z.url().max(2000) }).strict(),
  /** An email template sent from a mailbox to the run's contact (a deal's contact), unless they are suppressed. */
  z.object({ action: z.literal('send_email'), mailboxId: uuid, templateId: uuid }).strict(),
  z
    .object({
      action: z.literal('wait'),
      minutes: z
        .number()
        .int()
        .min(1)
        .max(60 * 24 * 90),
    })
    .strict(),
]);
export type WorkflowStep = z.infer<typeof workflowStep>;

export const workflowDefinition = z
  .object({
    trigger: workflowTrigger,
    conditions: workflowConditions.default({ match: 'all', rules: [] }),
    steps: z.array(workflowStep).min(1).max(30),
  })
  .strict();
export type WorkflowDefinition = z.infer<typeof workflowDefinition>;

export const workflowInput = z
  .object({ name: text(200), active: z.boolean().default(false), definition: workflowDefinition })
  .strict();
export type WorkflowInput = z.input<typeof workflowInput>;
export const workflowPatch = z
  .object({
    name: text(200).optional(),
    active: z.boolean().optional(),
    definition: workflowDefinition.optional(),
  })
  .strict();

export const RUN_STATUSES = ['running', 'waiting', 'done', 'failed', 'skipped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const workflowSummary = z.object({
  id: uuid,
  name: z.string(),
  active: z.boolean(),
  version: z.number().int(),
  trigger: workflowTrigger,
  runs: z.number().int(),
  lastRunAt: isoDate.nullable(),
  lastRunStatus: z.enum(RUN_STATUSES).nullable(),
  updatedAt: isoDate,
});
export type WorkflowSummary = z.infer<typeof workflowSummary>;
export const workflowList = z.object({ items: z.array(workflowSummary) });

export const workflow = workflowSummary.extend({ definition: workflowDefinition });
export type Workflow = z.infer<typeof workflow>;

/** One step's entry in a run's log: what it was given, what it did or why it failed, and when. */
export const stepLog = z.object({
  index: z.number().int(),
  action: z.string(),
  status: z.enum(['done', 'failed', 'waiting', 'skipped']),
  input: z.record(z.string(), z.unknown()),
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  at: isoDate,
});
export type StepLog = z.infer<typeof stepLog>;

export const workflowRun = z.object({
  id: uuid,
  workflowId: uuid,
  version: z.number().int(),
  status: z.enum(RUN_STATUSES),
  /** How many workflow runs led to this one (1: a person's or an outside change). */
  depth: z.number().int(),
  recordType: z.string().nullable(),
  recordId: uuid.nullable(),
  trigger: z.record(z.string(), z.unknown()),
  nextStep: z.number().int(),
  resumeAt: isoDate.nullable(),
  log: z.array(stepLog),
  error: z.string().nullable(),
  createdAt: isoDate,
  finishedAt: isoDate.nullable(),
});
export type WorkflowRun = z.infer<typeof workflowRun>;
export const workflowRunList = z.object({ items: z.array(workflowRun) });
