import type { MikroORM } from '../../db/orm.ts';
import { PipelineStageSchema, type PipelineStage } from '../../db/entities/pipeline-stage.entity.ts';
import type { PipelineStages, PipelineStagesInput } from '#contracts/pipeline';
import { HttpError } from '../http/errors.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { audit, change } from '../audit/record.ts';

const toDto = (s: PipelineStage) => ({
  key: s.key,
  name: s.name,
  position: s.position,
  probability: s.probability,
  kind: s.kind,
});

/** A workspace's deal stages: read by everyone, replaced as a whole (with its version) by admins. */
interface MovedDeal {
  id: string;
  title: string;
  company_id: string | null;
  value: string | null;
  currency: string | null;
  probability: number | null;
  version: number;
  from_stage: string;
}

export class PipelineStagesService {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;
  readonly #publisher: Publisher;

  constructor(orm: MikroORM, activities: ActivitiesService, publisher: Publisher) {
    this.#orm = orm;
    this.#activities = activities;
    this.#publisher = publisher;
  }

  list(actor: Actor): Promise<PipelineStages> {
    return inTenant(this.#orm, actor, (uow) => this.listIn(uow));
  }

  async listIn({ em }: UnitOfWork): Promise<PipelineStages> {
    const rows = await em.find(PipelineStageSchema, {}, { orderBy: { position: 'asc' } });
    return { version: Math.max(1, ...rows.map((r) => r.version)), items: rows.map(toDto) };
  }

  /** The stage a deal takes: `key` when the workspace has it (400 otherwise), else its first open stage. */
  async resolveIn({ em }: UnitOfWork, key: string | undefined): Promise<PipelineStage> {
    const stage = key
      ? await em.findOne(PipelineStageSchema, { key })
      : await em.findOne(PipelineStageSchema, { kind: 'open' }, { orderBy: { position: 'asc' } });
    if (!stage)
      throw new HttpError(400, 'validation_failed', 'Unknown pipeline stage', {
        stage: 'is not a stage of this workspace',
      });
    return stage;
  }

  /**
   * Replaces the ordered list. Deals of a stage left out move where `moves` says (400 `stage_in_use` when a
   * stage with deals has nowhere to go); a save made on an older version answers 409 `version_conflict`.
   */
  replace(actor: Actor, input: PipelineStagesInput): Promise<PipelineStages> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      // Serialises two admins' saves: the second waits, then sees the version the first wrote.
      await em.execute(`select pg_advisory_xact_lock(hashtext('pipeline_stages:' || ?))`, [actor.tenantId]);
      const current = await this.listIn(uow);
      if (input.version !== current.version)
        throw new HttpError(
          409,
          'version_conflict',
          'The pipeline was changed meanwhile: your edit was not saved',
          { version: `the current version is ${current.version}` },
          { current },
        );
      const kept = new Set(input.stages.map((s) => s.key));
      const moves = input.moves ?? {};
      const fields: Record<string, string> = {};
      for (const [from, to] of Object.entries(moves)) {
        if (kept.has(from)) fields[`moves.${from}`] = 'is a stage that is kept';
        else if (!kept.has(to)) fields[`moves.${from}`] = 'must name a stage of the new list';
      }
      if (Object.keys(fields).length)
        throw new HttpError(400, 'validation_failed', 'The request body is not valid', fields);
      const removed = current.items.filter((s) => !kept.has(s.key)).map((s) => s.key);
      const counts = removed.length
        ? ((await em.execute(
            `select stage, count(*)::int as n from deals where tenant_id = ? and stage in (${removed.map(() => '?').join(', ')}) group by stage`,
            [actor.tenantId, ...removed],
          )) as { stage: string; n: number }[])
        : [];
      const stranded = counts.filter((c) => !moves[c.stage]);
      if (stranded.length)
        throw new HttpError(
          400,
          'stage_in_use',
          'A stage that still has deals cannot be deleted without saying where they go',
          Object.fromEntries(stranded.map((c) => [`moves.${c.stage}`, `${c.n} deal(s) are in this stage`])),
        );
      // Each deal moved off a deleted stage says so on its timeline and on open pages, as a move by hand does.
      const labels = new Map([...current.items, ...input.stages].map((s) => [s.key, s.name]));
      const moved: MovedDeal[] = [];
      for (const c of counts)
        moved.push(
          ...((await em.execute(
            `update deals set stage = ?, version = version + 1, updated_at = now() where tenant_id = ? and stage = ?
             returning id, title, company_id, value, currency, probability, version, ? as from_stage`,
            [moves[c.stage]!, actor.tenantId, c.stage, c.stage],
          )) as MovedDeal[]),
        );
      await this.#activities.recordMany(
        uow,
        moved.map((d) => {
          const to = moves[d.from_stage]!;
          return {
            entityType: 'deal',
            entityId: d.id,
            companyId: d.company_id,
            type: 'deal.stage_changed',
            title: `Deal moved to "${labels.get(to) ?? to}": ${d.title}`,
            data: {
              name: d.title,
              from: d.from_stage,
              to,
              value: d.value ?? null,
              currency: d.currency ?? null,
              probability: d.probability ?? null,
            },
          };
        }),
      );
      uow.afterCommit(() => {
        for (const d of moved)
          this.#publisher.recordUpdated(actor.tenantId, {
            type: 'deal',
            id: d.id,
            changes: { stage: moves[d.from_stage]! },
            version: d.version,
          });
      });
      await em.nativeDelete(PipelineStageSchema, {});
      const version = current.version + 1;
      input.stages.forEach((s, position) =>
        em.create(PipelineStageSchema, { ...s, position, version, tenantId: actor.tenantId }),
      );
      await em.flush();
      const stages = (list: { key: string; name: string }[]) => list.map((s) => `${s.key}: ${s.name}`);
      await audit(
        uow,
        change(
          'pipeline.updated',
          'pipeline',
          { id: actor.tenantId, name: `version ${version}` },
          { stages: stages(current.items) },
          { stages: stages(input.stages), moves },
        ),
      );
      return { version, items: input.stages.map((s, position) => ({ ...s, position })) };
    });
  }
}
