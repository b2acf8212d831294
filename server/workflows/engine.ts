import { CronExpressionParser } from 'cron-parser';
import { DateTime } from 'luxon';
import type { StepLog, WorkflowDefinition, WorkflowStep } from '#contracts/workflows';
import type { RecordType } from '#contracts/common';
import type { MikroORM } from '../../db/orm.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../logger.ts';
import { HttpError } from '../http/errors.ts';
import { inTenant, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivityDto } from '../timeline/publisher.ts';
import { meets } from './conditions.ts';
import { permanent, type WorkflowActions } from './actions.ts';
import { fire, RUN_COLUMNS, RUN_QUEUE, type RunJob, type RunRow } from './runs.ts';

interface ActiveRow {
  id: string;
  name: string;
  definition: WorkflowDefinition;
  since_seq: string | number;
  scheduled_until: Date | string | null;
  created_at: Date | string;
}

const RECORD_TYPES = new Set(['company', 'contact', 'deal']);
const DATE_COLUMNS: Record<string, Record<string, string>> = {
  deal: { expectedCloseDate: 'expected_close_date', actualCloseDate: 'actual_close_date' },
  contact: { birthday: 'birthday' },
  company: {},
};
const TABLES: Record<string, string> = { company: 'companies', contact: 'contacts', deal: 'deals' };
/** Date triggers are looked at once a minute (a date set to today still fires today). */
const DATE_EVERY_MS = 60_000;
/** What a day's date sweep reads at most per workflow (the rest on the next sweep). */
const DATE_BATCH = 500;

/** Whether an activity fires a workflow's trigger. */
export function matches(def: WorkflowDefinition, a: ActivityDto): boolean {
  const t = def.trigger;
  if (t.type === 'event') {
    if (a.type !== t.event) return false;
    if (a.type !== 'deal.stage_changed') return true;
    const data = a.data as { from?: string | null; to?: string };
    return (!t.toStage || data.to === t.toStage) && (!t.fromStage || data.from === t.fromStage);
  }
  if (t.type === 'form') {
    if (a.type !== 'consent.given') return false;
    const data = a.data as { source?: string; listId?: string | null };
    return data.source === 'form' && (!t.listId || data.listId === t.listId);
  }
  return false;
}

/** The record an activity is about: its own, else its company. */
const recordOf = (a: ActivityDto) =>
  RECORD_TYPES.has(a.entityType)
    ? { type: a.entityType, id: a.entityId }
    : a.companyId
      ? { type: 'company', id: a.companyId }
      : null;
const depthOf = (a: ActivityDto) => Number((a.data as { causedBy?: { depth?: number } }).causedBy?.depth ?? 0) || 0;

/**
 * Fires workflows and runs them: the event feed's consumer (`handleActivities`, in the feed's transaction), the
 * sweep of schedules, date triggers and waits (`tick(now)`), and the run job (`advance`), one step after another.
 */
export class WorkflowEngine {
  readonly #orm: MikroORM;
  readonly #queue: JobQueue;
  readonly #actions: WorkflowActions;
  readonly #log: Logger;
  /** The member a run acts as (the workflow's author), else Filo itself. */
  actorFor: (tenantId: string, userId: string) => Promise<Actor | null> = async () => null;

  constructor(deps: { orm: MikroORM; queue: JobQueue; actions: WorkflowActions; log: Logger }) {
    this.#orm = deps.orm;
    this.#queue = deps.queue;
    this.#actions = deps.actions;
    this.#log = deps.log;
  }

  async #active(uow: UnitOfWork, types: string[]): Promise<ActiveRow[]> {
    return (await uow.em.execute(
      `select id, name, definition, since_seq, scheduled_until, created_at from workflows
        where tenant_id = ? and active and definition->'trigger'->>'type' = any(?::text[]) order by created_at`,
      [uow.actor.tenantId, `{${types.join(',')}}`],
    )) as ActiveRow[];
  }

  /**
   * The event feed's consumer (in the transaction that advances its cursor): each matching activity fires each
   * workflow once, the activity's id being the firing; what happened before a workflow was on never fires it.
   */
  async handleActivities(uow: UnitOfWork, activities: ActivityDto[]): Promise<void> {
    const workflows = await this.#active(uow, ['event', 'form']);
    if (!workflows.length) return;
    for (const a of activities)
      for (const w of workflows) {
        if (a.seq <= Number(w.since_seq) || !matches(w.definition, a)) continue;
        await fire(uow, this.#queue, {
          workflowId: w.id,
          key: `activity:${a.id}`,
          record: recordOf(a),
          trigger: { type: a.type, activityId: a.id, seq: a.seq, data: a.data },
          causeDepth: depthOf(a),
        });
      }
  }

  /** Schedules, date triggers and waits due by `now`, in every workspace that has any. */
  async tick(now = new Date()): Promise<void> {
    const tenants = (await this.#orm.em
      .getConnection()
      .execute(`select distinct tenant_id from filo_workflow_tenants(?)`, [now])) as { tenant_id: string }[];
    for (const { tenant_id } of tenants)
      await this.tickTenant(tenant_id, now).catch((err: unknown) =>
        this.#log.warn({ err, tenantId: tenant_id }, 'workflow sweep failed'),
      );
  }

  tickTenant(tenantId: string, now: Date): Promise<void> {
    return inTenant(this.#orm, systemActor(tenantId), async (uow) => {
      const [{ time_zone: zone }] = (await uow.em.execute(`select time_zone from tenants where id = ?`, [
        tenantId,
      ])) as [{ time_zone: string }];
      for (const w of await this.#active(uow, ['schedule', 'date']))
        if (w.definition.trigger.type === 'schedule') await this.#schedule(uow, w, zone, now);
        else if (!w.scheduled_until || now.getTime() - new Date(w.scheduled_until).getTime() >= DATE_EVERY_MS) {
          await this.#dates(uow, w, zone, now);
          await uow.em.execute(`update workflows set scheduled_until = ? where id = ?`, [now, w.id]);
        }
      // Waits that are over: back to running, with their job, in one transaction (a second sweep finds none).
      const resumed = (await uow.em.execute(
        `update workflow_runs set status = 'running', resume_at = null, updated_at = now()
          where tenant_id = ? and status = 'waiting' and resume_at <= ? returning id`,
        [tenantId, now],
      )) as { id: string }[];
      for (const { id } of resumed)
        await this.#queue.send(RUN_QUEUE, { tenantId, runId: id } satisfies RunJob, { uow });
    });
  }

  /** The newest cron tick since the last sweep fires once (ticks missed while down are not replayed one by one). */
  async #schedule(uow: UnitOfWork, w: ActiveRow, zone: string, now: Date): Promise<void> {
    if (w.definition.trigger.type !== 'schedule') return;
    const from = new Date(w.scheduled_until ?? w.created_at);
    let due: Date;
    try {
      due = CronExpressionParser.parse(w.definition.trigger.cron, { currentDate: now, tz: zone }).prev().toDate();
    } catch {
      return;
    }
    if (due > from && due <= now)
      await fire(uow, this.#queue, {
        workflowId: w.id,
        key: `cron:${due.toISOString()}`,
        record: null,
        trigger: { type: 'schedule', at: due.toISOString() },
        causeDepth: 0,
      });
    await uow.em.execute(`update workflows set scheduled_until = ? where id = ?`, [now, w.id]);
  }

  /** Records whose date is `daysBefore` days from today (in the workspace's zone): once per record and date value. */
  async #dates(uow: UnitOfWork, w: ActiveRow, zone: string, now: Date): Promise<void> {
    const t = w.definition.trigger;
    if (t.type !== 'date') return;
    const target = DateTime.fromJSDate(now, { zone }).startOf('day').plus({ days: t.daysBefore }).toISODate()!;
    const column = DATE_COLUMNS[t.recordType]?.[t.field];
    const custom = t.field.startsWith('customFields.') ? t.field.slice(13) : null;
    if (!column && !custom) return;
    const expr = column
      ? `"${column}"::date`
      : `(case when custom_fields->>? ~ '^\\d{4}-\\d{2}-\\d{2}' then left(custom_fields->>?, 10)::date end)`;
    const params = custom ? [custom, custom] : [];
    const rows = (await uow.em.execute(
      `select id, ${expr}::text as day from ${TABLES[t.recordType]} where tenant_id = ? and ${expr} = ?::date limit ${DATE_BATCH}`,
      [...params, uow.actor.tenantId, ...params, target],
    )) as { id: string; day: string }[];
    for (const r of rows)
      await fire(uow, this.#queue, {
        workflowId: w.id,
        key: `date:${r.id}:${t.field}:${r.day}`,
        record: { type: t.recordType, id: r.id },
        trigger: { type: 'date', field: t.field, date: r.day, daysBefore: t.daysBefore },
        causeDepth: 0,
      });
  }

  /**
   * The run job: from the run's next step on, each step then its log entry; a wait parks the run (the sweep resumes
   * it). A step's failure is logged; a temporary one is thrown for the job's retry, a permanent (or the last try's)
   * fails the run.
   */
  async advance(job: RunJob, opts: { final: boolean } = { final: true }): Promise<void> {
    const loaded = await inTenant(this.#orm, systemActor(job.tenantId), async ({ em }) => {
      const [run] = (await em.execute(
        `select ${RUN_COLUMNS}, w.name, w.created_by, v.definition from workflow_runs r
           join workflow_versions v on v.id = r.version_id join workflows w on w.id = r.workflow_id
          where r.id = ?`,
        [job.runId],
      )) as (RunRow & { name: string; created_by: string | null; definition: WorkflowDefinition })[];
      return run;
    });
    if (!loaded || loaded.status !== 'running') return;
    const author = loaded.created_by ? await this.actorFor(job.tenantId, loaded.created_by) : null;
    const actor: Actor = {
      ...(author ?? systemActor(job.tenantId, `Workflow ${loaded.name}`)),
      workflow: { runId: loaded.id, depth: loaded.depth },
    };
    const record = loaded.record_type ? { type: loaded.record_type as RecordType, id: loaded.record_id! } : null;
    const ctx = { actor, workflow: { id: loaded.workflow_id, name: loaded.name }, runId: loaded.id, record };
    const steps = loaded.definition.steps;
    if (loaded.next_step === 0 && !loaded.log.length) {
      const ok = await inTenant(this.#orm, actor, async (uow) =>
        meets(loaded.definition.conditions, await this.#actions.load(uow, record)),
      );
      if (!ok)
        return this.#finish(
          actor,
          loaded.id,
          'skipped',
          entry(-1, 'conditions', 'skipped', {}, null, 'conditions not met'),
        );
    }
    for (let i = loaded.next_step; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.action === 'wait') {
        const resumeAt = new Date(Date.now() + step.minutes * 60_000);
        await this.#progress(
          actor,
          loaded.id,
          i,
          entry(i, 'wait', 'waiting', step, { resumeAt: resumeAt.toISOString() }, null),
          {
            status: 'waiting',
            resumeAt,
          },
        );
        return;
      }
      try {
        await inTenant(this.#orm, actor, async (uow) => {
          const result = await this.#actions.run(uow, step, ctx);
          await this.#write(uow, loaded.id, i + 1, entry(i, step.action, 'done', step, result, null), 'running', null);
        });
      } catch (err) {
        const isPermanent = err instanceof HttpError && err.status < 500;
        const message = err instanceof Error ? err.message : String(err);
        if (isPermanent || opts.final)
          return this.#finish(
            actor,
            loaded.id,
            'failed',
            entry(i, step.action, 'failed', step, null, message),
            message,
          );
        await this.#progress(
          actor,
          loaded.id,
          i - 1,
          entry(i, step.action, 'failed', step, null, `${message} (will retry)`),
        );
        throw err;
      }
    }
    await this.#finish(actor, loaded.id, 'done', null);
  }

  #write(uow: UnitOfWork, runId: string, nextStep: number, log: StepLog | null, status: string, resumeAt: Date | null) {
    return uow.em.execute(
      `update workflow_runs set next_step = ?, status = ?, resume_at = ?, log = log || ?::jsonb, updated_at = now(),
              finished_at = case when ? in ('done', 'failed', 'skipped') then now() else finished_at end
        where id = ?`,
      [nextStep, status, resumeAt, JSON.stringify(log ? [log] : []), status, runId],
    );
  }

  #progress(actor: Actor, runId: string, doneUpTo: number, log: StepLog, park?: { status: 'waiting'; resumeAt: Date }) {
    return inTenant(this.#orm, actor, (uow) =>
      this.#write(uow, runId, doneUpTo + 1, log, park?.status ?? 'running', park?.resumeAt ?? null),
    );
  }

  async #finish(
    actor: Actor,
    runId: string,
    status: 'done' | 'failed' | 'skipped',
    log: StepLog | null,
    error?: string,
  ) {
    await inTenant(this.#orm, actor, async (uow) => {
      const [{ next_step }] = (await uow.em.execute(`select next_step from workflow_runs where id = ?`, [runId])) as [
        { next_step: number },
      ];
      await this.#write(uow, runId, next_step, log, status, null);
      if (error) await uow.em.execute(`update workflow_runs set error = ? where id = ?`, [error.slice(0, 2000), runId]);
    });
  }
}

function entry(
  index: number,
  action: string,
  status: StepLog['status'],
  input: WorkflowStep | Record<string, unknown>,
  result: Record<string, unknown> | null,
  error: string | null,
): StepLog {
  return { index, action, status, input: { ...input }, result, error, at: new Date().toISOString() };
}

export { permanent };
