import { z } from './zod.ts';

/** What the operator's probes answer: `/healthz` (alive) and `/readyz` (200 ready, 503 with the same body when not). */

// `unknown`: not checked, because what it depends on failed (migrations when the database is down).
export const CHECK_RESULTS = ['ok', 'error', 'pending', 'unknown'] as const;
export const checkResult = z.enum(CHECK_RESULTS);
export type CheckResult = z.infer<typeof checkResult>;

export const health = z.object({ status: z.literal('ok') });

export const readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  /** One result per dependency (database, migrations, redis, ...). */
  checks: z.record(z.string(), checkResult),
});
export type Readiness = z.infer<typeof readiness>;
