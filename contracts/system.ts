import { z } from './zod.ts';

/** What the operator's probes answer: `/healthz` (alive) and `/readyz` (200 ready, 503 with the same body when not). */

// `unknown`: not checked, because what it depends on failed (migrations when the database is down).
// `down`: Redis away; the node still serves HTTP and its own sockets (docs/operations.md, "Degraded modes").
export const CHECK_RESULTS = ['ok', 'error', 'pending', 'unknown', 'down'] as const;
export const checkResult = z.enum(CHECK_RESULTS);
export type CheckResult = z.infer<typeof checkResult>;

export const health = z.object({ status: z.literal('ok') });

export const readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  /** One result per dependency (database, migrations, redis, ...). */
  checks: z.record(z.string(), checkResult),
});
export type Readiness = z.infer<typeof readiness>;

/** One job queue as the Settings > System panel shows it (the same reading as /metrics). */
export const queueHealth = z.object({
  queue: z.string(),
  /** Jobs due and waiting for a worker. */
  depth: z.number().int().min(0),
  /** Seconds the longest-waiting due job has waited. */
  oldestSeconds: z.number().min(0),
});
export type QueueHealth = z.infer<typeof queueHealth>;

/** The installation's health for its admins: the readiness checks and the job queues. */
export const systemHealth = readiness.extend({
  queues: z.array(queueHealth),
  checkedAt: z.iso.datetime(),
});
export type SystemHealth = z.infer<typeof systemHealth>;
