import type {
  workflowInput,
  Workflow as WorkflowDto,
  WorkflowDefinition,
  WorkflowRun,
  WorkflowSummary,
} from '#contracts/workflows';
import type { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import { WorkflowSchema, WorkflowVersionSchema, type Workflow } from '../../db/entities/workflow.entity.ts';
import { requireScope } from '../auth/scopes.ts';
import { notFound } from '../http/errors.ts';
import { authorOf, inTenant, requireRole, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { EventFeed } from '../timeline/feed.ts';
import { checkDefinition, type CheckDeps } from './checks.ts';
import { mapRun, RUN_COLUMNS, type RunRow } from './runs.ts';

/** The workflows' cursor name on the event feed. */
export const FEED_CONSUMER = 'workflows';

type Input = z.output<typeof workflowInput>;
type Patch = Partial<Input>;

interface Stats {
  runs: number;
  last_at: Date | string | null;
  last_status: WorkflowRun['status'] | null;
}

const map = (w: Workflow, s: Stats | undefined): WorkflowDto => ({
  id: w.id,
  name: w.name,
  active: w.active,
  version: w.version,
  trigger: w.definition.trigger,
  definition: w.definition,
  runs: s?.runs ?? 0,
  lastRunAt: s?.last_at ? new Date(s.last_at).toISOString() : null,
  lastRunStatus: s?.last_status ?? null,
  updatedAt: w.updatedAt.toISOString(),
});

/**
 * Workflows: members read them and their runs, owners and admins edit them (token scope `workflows`). A save that
 * changes the definition writes a new immutable version; runs already started keep theirs.
 */
export class WorkflowsService {
  readonly #orm: MikroORM;
  readonly #checks: CheckDeps;

  readonly #feed: Pick<EventFeed, 'start'>;

  constructor(orm: MikroORM, checks: CheckDeps, feed: Pick<EventFeed, 'start'>) {
    this.#orm = orm;
    this.#checks = checks;
    this.#feed = feed;
  }

  async #stats(uow: UnitOfWork, ids: string[]): Promise<Map<string, Stats>> {
    if (!ids.length) return new Map();
    const rows = (await uow.em.execute(
      `select workflow_id, count(*)::int as runs, max(created_at) as last_at,
              (array_agg(status order by created_at desc))[1] as last_status
         from workflow_runs where tenant_id = ? and workflow_id = any(?::uuid[]) group by workflow_id`,
      [uow.actor.tenantId, `{${ids.join(',')}}`],
    )) as (Stats & { workflow_id: string })[];
    return new Map(rows.map((r) => [r.workflow_id, r]));
  }

  list(actor: Actor): Promise<{ items: WorkflowSummary[] }> {
    requireScope(actor, 'workflows', 'read');
    return inTenant(this.#orm, actor, async (uow) => {
      const rows = await uow.em.find(WorkflowSchema, {}, { orderBy: { name: 'asc', id: 'asc' } });
      const stats = await this.#stats(
        uow,
        rows.map((r) => r.id),
      );
      return { items: rows.map((r) => map(r, stats.get(r.id))) };
    });
  }

  get(actor: Actor, id: string): Promise<WorkflowDto> {
    requireScope(actor, 'workflows', 'read');
    return inTenant(this.#orm, actor, async (uow) => {
      const w = await this.#find(uow, id);
      return map(w, (await this.#stats(uow, [id])).get(id));
    });
  }

  async #find(uow: UnitOfWork, id: string, lock = false): Promise<Workflow> {
    const w = await uow.em.findOne(WorkflowSchema, { id }, lock ? { lockMode: 4 } : {});
    if (!w) throw notFound('Workflow');
    return w;
  }

  #canEdit(actor: Actor) {
    requireScope(actor, 'workflows', 'write');
    requireRole(actor, 'owner', 'admin');
  }

  /** Where the timeline stands now: an event workflow fires only on what happens after it is switched on. */
  async #now(uow: UnitOfWork): Promise<number> {
    const [row] = (await uow.em.execute(`select activity_seq from tenants where id = ?`, [uow.actor.tenantId])) as [
      { activity_seq: string },
    ];
    return Number(row.activity_seq);
  }

  async create(actor: Actor, input: Input): Promise<WorkflowDto> {
    this.#canEdit(actor);
    await checkDefinition(this.#checks, actor, input.definition);
    return inTenant(this.#orm, actor, async (uow) => {
      const w = uow.em.create(WorkflowSchema, {
        tenantId: actor.tenantId,
        name: input.name,
        active: input.active,
        version: 1,
        definition: input.definition,
        sinceSeq: await this.#now(uow),
        scheduledUntil: new Date(),
        createdBy: authorOf(actor),
      } as never) as Workflow;
      await uow.em.flush();
      await this.#version(uow, w, input.definition);
      await this.#feed.start(uow, FEED_CONSUMER);
      return map(w, undefined);
    });
  }

  async #version(uow: UnitOfWork, w: Workflow, definition: WorkflowDefinition) {
    uow.em.create(WorkflowVersionSchema, {
      tenantId: uow.actor.tenantId,
      workflowId: w.id,
      version: w.version,
      definition,
      createdBy: authorOf(uow.actor),
    } as never);
    await uow.em.flush();
  }

  async update(actor: Actor, id: string, patch: Patch): Promise<WorkflowDto> {
    this.#canEdit(actor);
    if (patch.definition) await checkDefinition(this.#checks, actor, patch.definition);
    return inTenant(this.#orm, actor, async (uow) => {
      const w = await this.#find(uow, id, true);
      const changed = patch.definition && JSON.stringify(patch.definition) !== JSON.stringify(w.definition);
      // Switched on (again): what happened while it was off does not fire it.
      if (patch.active && !w.active) Object.assign(w, { sinceSeq: await this.#now(uow), scheduledUntil: new Date() });
      if (patch.active) await this.#feed.start(uow, FEED_CONSUMER);
      if (patch.name !== undefined) w.name = patch.name;
      if (patch.active !== undefined) w.active = patch.active;
      if (changed) Object.assign(w, { definition: patch.definition, version: w.version + 1 });
      await uow.em.flush();
      if (changed) await this.#version(uow, w, patch.definition!);
      return map(w, (await this.#stats(uow, [id])).get(id));
    });
  }

  remove(actor: Actor, id: string): Promise<void> {
    this.#canEdit(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const w = await this.#find(uow, id);
      uow.em.remove(w);
      await uow.em.flush();
    });
  }

  runs(actor: Actor, workflowId: string, limit = 50): Promise<{ items: WorkflowRun[] }> {
    requireScope(actor, 'workflows', 'read');
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#find(uow, workflowId);
      const rows = (await uow.em.execute(
        `select ${RUN_COLUMNS} from workflow_runs r join workflow_versions v on v.id = r.version_id
          where r.tenant_id = ? and r.workflow_id = ? order by r.created_at desc, r.id limit ?`,
        [actor.tenantId, workflowId, limit],
      )) as RunRow[];
      return { items: rows.map(mapRun) };
    });
  }
}
