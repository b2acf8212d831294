import { z } from './zod.ts';
import { uuid } from './common.ts';

/**
 * The Home page's helpers: the names of the records a feed's entries belong to, as they are now (a record
 * renamed since reads with its new name; one deleted, or of another workspace, is simply left out).
 */

export const RECORD_NAMES_MAX = 50;

const ids = z.union([z.uuid(), z.array(z.uuid()).max(RECORD_NAMES_MAX)]).transform((v) => (Array.isArray(v) ? v : [v]));

/** GET /api/home/record-names?company=…&contact=…&deal=… (each repeated, up to 50 ids). */
export const recordNamesQuery = z
  .object({ company: ids.optional(), contact: ids.optional(), deal: ids.optional() })
  .strict();

export const recordName = z.object({
  type: z.enum(['company', 'contact', 'deal']),
  id: uuid,
  name: z.string(),
});
export type RecordName = z.infer<typeof recordName>;
export const recordNames = z.object({ items: z.array(recordName) });
