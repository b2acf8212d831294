import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { STAGE_KINDS } from '#contracts/pipeline';
import { tenantOwned } from './tenant-owned.ts';

/** One stage of a workspace's deals pipeline; deals name it by `key` (contracts/pipeline.ts). */
export const PipelineStageSchema = defineEntity({
  name: 'PipelineStage',
  tableName: 'pipeline_stages',
  properties: {
    ...tenantOwned,
    key: p.string().length(40),
    name: p.string().length(60),
    position: p.integer(),
    probability: p.integer(),
    kind: p.enum(STAGE_KINDS).default('open'),
    /** The list's version when this row was written (all rows of a save share it). */
    version: p.integer().default(1),
  },
  uniques: [{ properties: ['tenantId', 'key'] }],
});
export type PipelineStage = InferEntity<typeof PipelineStageSchema>;
