import type { MikroORM } from '../../db/orm.ts';
import { PipelineStageSchema, type PipelineStage } from '../../db/entities/pipeline-stage.entity.ts';
import type { PipelineStages, PipelineStagesInput } from '#contracts/pipeline';
import { HttpError } from '../http/errors.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';

const toDto = (s: PipelineStage) => ({
  key: s.key,
  name: s.name,
  position: s.position,
  probability: s.probability,
  kind: s.kind,
});

/** A workspace's deal stages: read by everyone, replaced as a whole (with its version) by admins. */
export class PipelineStagesService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
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
      for (const c of counts)
        await em.execute(
          `update deals set stage = ?, version = version + 1, updated_at = now() where tenant_id = ? and stage = ?`,
          [moves[c.stage]!, actor.tenantId, c.stage],
        );
      await em.nativeDelete(PipelineStageSchema, {});
      const version = current.version + 1;
      input.stages.forEach((s, position) =>
        em.create(PipelineStageSchema, { ...s, position, version, tenantId: actor.tenantId }),
      );
      await em.flush();
      return { version, items: input.stages.map((s, position) => ({ ...s, position })) };
    });
  }
}
