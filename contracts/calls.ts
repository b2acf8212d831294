import { z } from './zod.ts';
import { CALL_OUTCOMES } from './timeline.ts';

/**
 * Phone calls logged by hand on a contact or a company (`POST /api/crm/calls`), written as a `call.logged`
 * activity on the record's timeline. Filo dials nothing: the `tel:` link does, and the member says how it went.
 */

export { CALL_OUTCOMES };
export const CALL_DIRECTIONS = ['outbound', 'inbound'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];
export type CallDirection = (typeof CALL_DIRECTIONS)[number];

/** The longest call one can log: a working day. */
export const CALL_MAX_SECONDS = 12 * 3600;

const id = z.uuid();

export const callInput = z
  .object({
    /** The contact called (the activity goes on them, with their company); or, without one, the company. */
    contactId: id.optional(),
    companyId: id.optional(),
    direction: z.enum(CALL_DIRECTIONS).default('outbound'),
    outcome: z.enum(CALL_OUTCOMES),
    durationSeconds: z.number().int().min(0).max(CALL_MAX_SECONDS).nullable().optional(),
    /** The number dialled; by default the contact's phone (else mobile), or the primary contact's for a company. */
    phone: z
      .string()
      .trim()
      .max(40)
      .regex(/^\+?[\d\s().\-/]{3,40}$/, 'must be a phone number')
      .nullable()
      .optional(),
    /** What was said (Markdown). */
    note: z.string().trim().max(10_000).nullable().optional(),
  })
  .strict()
  .refine((v) => Boolean(v.contactId || v.companyId), {
    message: 'choose a contact or a company',
    path: ['contactId'],
  });
export type CallInput = z.input<typeof callInput>;
