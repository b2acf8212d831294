import { WORKFLOW_MAX_DEPTH, type StepLog, type WorkflowRun as RunDto } from '#contracts/workflows';
import type { JobQueue } from '../jobs/queue.ts';
import type { UnitOfWork } from '../tenancy.ts';

/** The queue of run jobs: one job per run to start or resume, retried with backoff. */
export const RUN_QUEUE = 'workflows.run';
export interface RunJob {
  tenantId: string;
  runId: string;
}

export interface RunRow {
  id: string;
  workflow_id: string;
  version_id: string;
  version: number;
  status: RunDto['status'];
  depth: number;
  record_type: string | null;
  record_id: string | null;
  trigger: Record<string, unknown>;
  next_step: number;
  resume_at: Date | string | null;
  log: StepLog[];
  error: string | null;
  created_at: Date | string;
  finished_at: Date | string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export const mapRun = (r: RunRow): RunDto => ({
  id: r.id,
  workflowId: r.workflow_id,
  version: r.version,
  status: r.status,
  depth: r.depth,
  recordType: r.record_type,
  recordId: r.record_id,
  trigger: r.trigger,
  nextStep: r.next_step,
  resumeAt: iso(r.resume_at),
  log: r.log,
  error: r.error,
  createdAt: iso(r.created_at)!,
  finishedAt: iso(r.finished_at),
});

export const RUN_COLUMNS = `r.id, r.workflow_id, r.version_id, v.version, r.status, r.depth, r.record_type, r.record_id,
  r.trigger, r.next_step, r.resume_at, r.log, r.error, r.created_at, r.finished_at`;

export interface Firing {
  workflowId: string;
  /** The identity of the firing, unique per workflow: a second firing with it is a no-op. */
  key: string;
  record: { type: string; id: string } | null;
  trigger: Record<string, unknown>;
  /** How many workflow runs led to the change that fired it (0: a person's or an outside change). */
  causeDepth: number;
}

/**
 * Records one run of the workflow's current version for a firing, in the caller's transaction, and enqueues its job
 * there too: a firing seen twice (a redelivery, two nodes) makes one run. Past the depth limit the run is written
 * `skipped` with the reason, and nothing runs. Answers the run's id, or null when the firing had a run already.
 */
export async function fire(uow: UnitOfWork, queue: JobQueue, f: Firing): Promise<string | null> {
  const depth = f.causeDepth + 1;
  const tooDeep = depth > WORKFLOW_MAX_DEPTH;
  const log: StepLog[] = tooDeep
    ? [
        {
          index: -1,
          action: 'trigger',
          status: 'skipped',
          input: { depth },
          result: null,
          error: `depth limit: a chain of ${depth} workflow runs (at most ${WORKFLOW_MAX_DEPTH})`,
          at: new Date().toISOString(),
        },
      ]
    : [];
  const rows = (await uow.em.execute(
    `insert into workflow_runs (id, tenant_id, workflow_id, version_id, firing_key, status, depth, record_type,
       record_id, trigger, log, finished_at)
     select gen_random_uuid(), w.tenant_id, w.id, v.id, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ${tooDeep ? 'now()' : 'null'}
       from workflows w join workflow_versions v on v.workflow_id = w.id and v.version = w.version
      where w.id = ?
     on conflict (tenant_id, workflow_id, firing_key) do nothing
     returning id`,
    [
      f.key.slice(0, 300),
      tooDeep ? 'skipped' : 'running',
      depth,
      f.record?.type ?? null,
      f.record?.id ?? null,
      JSON.stringify(f.trigger),
      JSON.stringify(log),
      f.workflowId,
    ],
  )) as { id: string }[];
  const runId = rows[0]?.id ?? null;
  if (runId && !tooDeep) await queue.send(RUN_QUEUE, { tenantId: uow.actor.tenantId, runId } satisfies RunJob, { uow });
  return runId;
}
