import { z } from './zod.ts';
import { STAGE_KEY_RE } from './crm.ts';

/** A workspace's pipeline: its ordered deal stages, each with a default probability and whether it closes a deal. */

export const STAGE_KINDS = ['open', 'won', 'lost'] as const;
export const stageKind = z.enum(STAGE_KINDS);
export type StageKind = z.infer<typeof stageKind>;

export const stageKey = z
  .string()
  .regex(STAGE_KEY_RE, 'must be 1-40 of a-z, 0-9, _ and -, starting with a letter or digit');

export const pipelineStage = z.object({
  key: z.string(),
  name: z.string(),
  position: z.number().int(),
  /** Offered as the deal's probability when a deal moves into the stage. */
  probability: z.number().int(),
  kind: stageKind,
});
export type PipelineStage = z.infer<typeof pipelineStage>;

/** The stages in order; `version` grows on every save (a save made on an older one answers 409). */
export const pipelineStages = z.object({ version: z.number().int(), items: z.array(pipelineStage) });
export type PipelineStages = z.infer<typeof pipelineStages>;

export const MAX_STAGES = 20;

/**
 * PUT body: the whole ordered list. A stage left out is deleted; its deals move to `moves[key]` (required when it
 * has deals).
 */
export const pipelineStagesInput = z
  .object({
    version: z.number().int().min(1),
    stages: z
      .array(
        z
          .object({
            key: stageKey,
            name: z.string().trim().min(1).max(60),
            probability: z.number().int().min(0).max(100),
            kind: stageKind,
          })
          .strict(),
      )
      .min(1)
      .max(MAX_STAGES),
    moves: z.record(stageKey, stageKey).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    const names = new Set<string>();
    v.stages.forEach((s, i) => {
      if (seen.has(s.key)) ctx.addIssue({ code: 'custom', path: ['stages', i, 'key'], message: 'is used twice' });
      if (names.has(s.name.toLowerCase()))
        ctx.addIssue({ code: 'custom', path: ['stages', i, 'name'], message: 'is used twice' });
      seen.add(s.key);
      names.add(s.name.toLowerCase());
    });
    if (!v.stages.some((s) => s.kind === 'open'))
      ctx.addIssue({ code: 'custom', path: ['stages'], message: 'needs at least one open stage' });
  });
export type PipelineStagesInput = z.infer<typeof pipelineStagesInput>;

/** What a workspace starts with (the migration and the tenant trigger write the same). */
export const DEFAULT_PIPELINE_STAGES: readonly Omit<PipelineStage, 'position'>[] = [
  { key: 'lead', name: 'Lead', probability: 10, kind: 'open' },
  { key: 'qualified', name: 'Qualified', probability: 25, kind: 'open' },
  { key: 'proposal', name: 'Proposal', probability: 50, kind: 'open' },
  { key: 'negotiation', name: 'Negotiation', probability: 75, kind: 'open' },
  { key: 'won', name: 'Won', probability: 100, kind: 'won' },
  { key: 'lost', name: 'Lost', probability: 0, kind: 'lost' },
];
