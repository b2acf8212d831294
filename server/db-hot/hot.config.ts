import { z } from 'zod';

/** The environment of the hot-read pool (spread into config's schema). */
export const hotReadsEnv = {
  /** Connections of the pool that serves timelines, lists and search (beside the ORM's own pool of 20). */
  HOT_POOL_SIZE: z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(200).default(10),
};

/** The pool of the hot reads (timeline, company list, search): `config.hotReads`. */
export interface HotReadsConfig {
  poolSize: number;
}

type Parsed = { [K in keyof typeof hotReadsEnv]: z.output<(typeof hotReadsEnv)[K]> };

export const hotReadsConfig = (e: Parsed): HotReadsConfig => ({ poolSize: e.HOT_POOL_SIZE });
