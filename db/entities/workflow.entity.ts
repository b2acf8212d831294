import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { RUN_STATUSES, type StepLog, type WorkflowDefinition } from '#contracts/workflows';
import { tenantOwned, userRef } from './tenant-owned.ts';

/** An automation of a workspace: its current definition, mirrored by its newest version (contracts/workflows.ts). */
export const WorkflowSchema = defineEntity({
  name: 'Workflow',
  tableName: 'workflows',
  properties: {
    ...tenantOwned,
    name: p.string().length(200),
    active: p.boolean().default(false),
    /** The number of its newest version. */
    version: p.integer().default(1),
    definition: p.json<WorkflowDefinition>(),
    /** Events up to this activity seq happened before the workflow was active: they never fire it. */
    sinceSeq: p.bigint('number').default(0),
    /** A schedule's cron ticks up to this moment have been considered. */
    scheduledUntil: p.datetime().nullable(),
    createdBy: () => userRef('created_by'),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date())
      .defaultRaw('now()'),
  },
  indexes: [{ properties: ['tenantId', 'active'] }],
});
export type Workflow = InferEntity<typeof WorkflowSchema>;

/** One immutable saved definition of a workflow: runs point at it and finish on it. */
export const WorkflowVersionSchema = defineEntity({
  name: 'WorkflowVersion',
  tableName: 'workflow_versions',
  properties: {
    ...tenantOwned,
    workflowId: () =>
      p.manyToOne(WorkflowSchema).mapToPk().fieldName('workflow_id').deleteRule('cascade').updateRule('cascade'),
    version: p.integer(),
    definition: p.json<WorkflowDefinition>(),
    createdBy: () => userRef('created_by'),
  },
  uniques: [{ properties: ['tenantId', 'workflowId', 'version'] }],
});
export type WorkflowVersion = InferEntity<typeof WorkflowVersionSchema>;

/** One firing of a workflow (its identity unique per workflow), run step by step with each step's log. */
export const WorkflowRunSchema = defineEntity({
  name: 'WorkflowRun',
  tableName: 'workflow_runs',
  properties: {
    ...tenantOwned,
    workflowId: () =>
      p.manyToOne(WorkflowSchema).mapToPk().fieldName('workflow_id').deleteRule('cascade').updateRule('cascade'),
    versionId: () =>
      p.manyToOne(WorkflowVersionSchema).mapToPk().fieldName('version_id').deleteRule('cascade').updateRule('cascade'),
    /** What fired it: `activity:<id>`, `cron:<instant>`, `date:<record>:<field>:<date>`. */
    firingKey: p.string().length(300),
    status: p.enum(RUN_STATUSES).default('running'),
    depth: p.integer().default(1),
    recordType: p.string().length(20).nullable(),
    recordId: p.uuid().nullable(),
    trigger: p.json<Record<string, unknown>>(),
    nextStep: p.integer().default(0),
    resumeAt: p.datetime().nullable(),
    log: p
      .json<StepLog[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    error: p.text().nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date())
      .defaultRaw('now()'),
    finishedAt: p.datetime().nullable(),
  },
  uniques: [{ properties: ['tenantId', 'workflowId', 'firingKey'] }],
  indexes: [
    { properties: ['tenantId', 'workflowId', 'createdAt'] },
    { properties: ['tenantId', 'status', 'resumeAt'] },
  ],
});
export type WorkflowRun = InferEntity<typeof WorkflowRunSchema>;
