import { z } from 'zod';
import { conversationPatch } from './conversations.service.ts';
import { isTimeZone } from './rule-match.ts';

const uuid = z.string().uuid();
const HHMM = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const dayHours = z
  .object({ open: z.string().regex(HHMM, 'HH:MM'), close: z.string().regex(HHMM, 'HH:MM') })
  .strict()
  .refine((d) => d.open < d.close, { message: 'closes before it opens', path: ['close'] })
  .nullable();
const businessHours = z
  .object({
    timeZone: z.string().max(100).refine(isTimeZone, 'not a known IANA time zone'),
    days: z
      .object({
        mon: dayHours.optional(),
        tue: dayHours.optional(),
        wed: dayHours.optional(),
        thu: dayHours.optional(),
        fri: dayHours.optional(),
        sat: dayHours.optional(),
        sun: dayHours.optional(),
      })
      .strict(),
  })
  .strict();
/** An address (`ana@acme.com`) or a domain (`acme.com`), lower-cased. */
const sender = z
  .string()
  .trim()
  .toLowerCase()
  .max(320)
  .regex(/^(?:[^\s@]+@)?[a-z0-9-]+(?:\.[a-z0-9-]+)+$/, 'an address or a domain');
const conditions = z
  .object({
    from: z.array(sender).max(100).optional(),
    subjectContains: z.array(z.string().trim().min(1).max(200)).max(50).optional(),
    outsideHours: businessHours.optional(),
  })
  .strict();
const actions = z
  .object({
    autoReplyTemplateId: uuid.optional(),
    assigneeId: uuid.optional(),
    tags: conversationPatch.shape.tags,
    status: z.enum(['open', 'pending', 'closed']).optional(),
  })
  .strict()
  .refine((a) => Object.values(a).some((v) => v !== undefined && !(Array.isArray(v) && !v.length)), {
    message: 'choose at least one action',
  });

export const ruleInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    enabled: z.boolean().default(true),
    /** Lower runs first; a new rule goes last without it. */
    position: z.number().int().min(0).max(100_000).optional(),
    conditions: conditions.default({}),
    actions,
  })
  .strict();
export const rulePatch = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    enabled: z.boolean().optional(),
    position: z.number().int().min(0).max(100_000).optional(),
    conditions: conditions.optional(),
    actions: actions.optional(),
    version: z.number().int().min(1).optional(),
  })
  .strict();
