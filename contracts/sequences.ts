import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';

/**
 * Cold-email sequences: multi-step follow-ups sent from members' mailboxes like a person writes (caps, gaps, a
 * workday, the prospect's own hours), threaded on each other, stopped the moment the prospect replies. Email steps
 * go out through the shared bulk engine (source `sequence`, source id = the step's id, one send row per prospect
 * and step, never two), so consent, VERP bounces, opens and clicks are the newsletters' own machinery.
 */

/** Ids sent by a client are checked as such (a malformed one is a 400, never a query on it). */
const id = z.uuid();
const person = z.object({ id: uuid, name: z.string() });

export const SEQUENCE_STATUSES = ['draft', 'active', 'paused', 'archived'] as const;
export const sequenceStatus = z.enum(SEQUENCE_STATUSES);
export type SequenceStatus = z.infer<typeof sequenceStatus>;

export const STEP_KINDS = ['email', 'wait', 'condition', 'task'] as const;
export const stepKind = z.enum(STEP_KINDS);
export type StepKind = z.infer<typeof stepKind>;

/** At most this many steps in a sequence (the bound; the editor draws them as one vertical flow). */
export const MAX_STEPS = 50;

/** `HH:MM`, 24-hour. */
export const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');
/** ISO weekdays: 1 = Monday ... 7 = Sunday. */
const weekdays = z.array(z.number().int().min(1).max(7)).min(1).max(7);

/**
 * Hours in a time zone: from `start` to `end` on `days` (of the day the window starts). `end` before `start` is a
 * window crossing midnight (22:00-02:00 ends on the next day). `lunch` is a pause inside it.
 */
export const timeWindow = z.object({
  start: clockTime,
  end: clockTime,
  days: weekdays,
  lunch: z.object({ start: clockTime, end: clockTime }).nullable().default(null),
});
export type TimeWindow = z.infer<typeof timeWindow>;

/** Where a condition's branch goes: on to the next step, to the end of the sequence, or to a step by its id. */
export const branch = z.union([z.literal('next'), z.literal('end'), id]);
export type Branch = z.infer<typeof branch>;

export const CONDITION_TESTS = ['opened', 'clicked', 'replied', 'split'] as const;
export const TASK_STEP_KINDS = ['call', 'linkedin', 'other'] as const;

/**
 * A step as saved. `email`: subject and body with {{tokens|fallback}}, threaded on the previous email step ("Re:"
 * and In-Reply-To/References) unless `newThread`; `wait`: days (and hours) before the next step, counted in
 * business days when asked; `condition`: a test over the prospect's mail of this sequence within `withinDays`
 * (opened by a person, not a scanner; clicked; replied) with a branch for each outcome, or a weighted random split;
 * `task`: a manual step that lands in the owner's (or a member's) tasks.
 */
export const emailStepConfig = z.object({
  kind: z.literal('email'),
  subject: z.string().max(998),
  body: z.string().max(100_000),
  newThread: z.boolean().default(false),
});
export const waitStepConfig = z.object({
  kind: z.literal('wait'),
  days: z.number().int().min(0).max(60),
  hours: z.number().int().min(0).max(23).default(0),
  businessDays: z.boolean().default(false),
});
export const conditionStepConfig = z.discriminatedUnion('test', [
  z.object({
    kind: z.literal('condition'),
    test: z.enum(['opened', 'clicked', 'replied']),
    withinDays: z.number().int().min(0).max(60),
    then: branch,
    else: branch,
  }),
  z.object({
    kind: z.literal('condition'),
    test: z.literal('split'),
    paths: z
      .array(
        z.object({ label: z.string().trim().min(1).max(40), weight: z.number().int().min(0).max(100), goto: branch }),
      )
      .min(2)
      .max(4),
  }),
]);
export const taskStepConfig = z.object({
  kind: z.literal('task'),
  taskKind: z.enum(TASK_STEP_KINDS),
  title: z.string().trim().min(1).max(500),
  description: z.string().max(20_000).nullable().default(null),
  dueInDays: z.number().int().min(0).max(30).default(0),
  /** null: the sequence's owner. */
  assigneeId: id.nullable().default(null),
});
export const stepConfig = z.union([emailStepConfig, waitStepConfig, conditionStepConfig, taskStepConfig]);
export type StepConfig = z.infer<typeof stepConfig>;

/** A step of a saved sequence, in order. */
export const sequenceStep = z.object({ id: uuid, position: z.number().int(), config: stepConfig });
export type SequenceStep = z.infer<typeof sequenceStep>;

/** PUT /api/sequences/:id/steps: the whole flow (ids of kept steps kept; a new step may bring a client-made id). */
export const stepsPut = z
  .object({
    steps: z.array(z.object({ id: id.optional(), config: stepConfig })).max(MAX_STEPS),
    version: z.number().int(),
  })
  .strict();
export type StepsPut = z.input<typeof stepsPut>;

/** A sequence's sending rules. `window` is the prospect's hours, in the prospect's own time zone. */
export const sequenceSettings = z.object({
  window: timeWindow.default({ start: '09:00', end: '17:00', days: [1, 2, 3, 4, 5], lunch: null }),
  stopOnReply: z.boolean().default(true),
  /** Contacts in an open deal are not enrolled. */
  excludeOpenDeals: z.boolean().default(true),
  trackOpens: z.boolean().default(true),
  trackClicks: z.boolean().default(false),
});
export type SequenceSettings = z.infer<typeof sequenceSettings>;

export const sequenceCounts = z.object({
  enrolled: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  stopped: z.number().int(),
  replied: z.number().int(),
});

export const sequence = z.object({
  id: uuid,
  name: z.string(),
  status: sequenceStatus,
  owner: person.nullable(),
  /** The pool the prospects are spread over (each prospect pinned to one mailbox). */
  mailboxIds: z.array(uuid),
  settings: sequenceSettings,
  steps: z.array(sequenceStep),
  counts: sequenceCounts,
  launchedAt: isoDate.nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  version: z.number().int(),
});
export type Sequence = z.infer<typeof sequence>;

export const sequenceSummary = sequence.omit({ steps: true, settings: true }).extend({ stepCount: z.number().int() });
export type SequenceSummary = z.infer<typeof sequenceSummary>;
export const sequenceList = z.object({ items: z.array(sequenceSummary) });

const name = z.string().trim().min(1).max(200);
export const sequenceCreate = z
  .object({
    name,
    ownerId: id.nullable().optional(),
    mailboxIds: z.array(id).max(20).optional(),
    settings: sequenceSettings.optional(),
  })
  .strict();
export type SequenceCreate = z.input<typeof sequenceCreate>;
export const sequencePatch = z
  .object({
    name: name.optional(),
    ownerId: id.nullable().optional(),
    mailboxIds: z.array(id).max(20).optional(),
    settings: sequenceSettings.optional(),
    version: z.number().int(),
  })
  .strict();
export type SequencePatch = z.input<typeof sequencePatch>;

export const ENROLMENT_STATUSES = ['active', 'paused', 'completed', 'stopped', 'failed'] as const;
export const enrolmentStatus = z.enum(ENROLMENT_STATUSES);
export type EnrolmentStatus = z.infer<typeof enrolmentStatus>;

export const STOP_REASONS = [
  'replied',
  'bounced',
  'unsubscribed',
  'complained',
  'manual',
  'deal_opened',
  'suppressed',
  'sequence_archived',
  'contact_removed',
] as const;
export const stopReason = z.enum(STOP_REASONS);
export type StopReason = z.infer<typeof stopReason>;

export const ENROL_SOURCES = ['list', 'selection', 'csv', 'api'] as const;

export const enrolment = z.object({
  id: uuid,
  sequenceId: uuid,
  contact: z.object({ id: uuid, name: z.string(), email: z.string().nullable() }),
  companyName: z.string().nullable(),
  status: enrolmentStatus,
  stopReason: stopReason.nullable(),
  currentStepId: uuid.nullable(),
  /** When the engine next acts for this prospect (a send's slot, a wait's end, a condition's deadline). */
  nextRunAt: isoDate.nullable(),
  mailboxId: uuid.nullable(),
  /** The IANA zone the prospect's window is reckoned in, and where it came from. */
  timeZone: z.string(),
  timeZoneSource: z.enum(['contact', 'country', 'mailbox']),
  lastSentAt: isoDate.nullable(),
  repliedAt: isoDate.nullable(),
  /** The owner's verdict on the reply (null: not judged). */
  positive: z.boolean().nullable(),
  enrolledAt: isoDate,
  stoppedAt: isoDate.nullable(),
  completedAt: isoDate.nullable(),
});
export type Enrolment = z.infer<typeof enrolment>;
export const enrolmentPage = z.object({ items: z.array(enrolment), nextCursor: z.string().nullable() });

/** POST /api/sequences/:id/enrolments: from a list or segment, a CRM selection, or a CSV of addresses. */
export const enrolInput = z.discriminatedUnion('source', [
  z.object({ source: z.literal('list'), listId: id }).strict(),
  z.object({ source: z.literal('selection'), contactIds: z.array(id).min(1).max(5_000) }).strict(),
  // 800,000 characters stay under the API's 1 MB JSON body once escaped (a larger file answers 413).
  z.object({ source: z.literal('csv'), csv: z.string().min(1).max(800_000) }).strict(),
]);
export type EnrolInput = z.input<typeof enrolInput>;
/** What an enrolment did: how many went in, and why the others did not. */
export const enrolResult = z.object({
  enrolled: z.number().int(),
  skipped: z.object({
    alreadyActive: z.number().int(),
    suppressed: z.number().int(),
    bounced: z.number().int(),
    openDeal: z.number().int(),
    noEmail: z.number().int(),
    notFound: z.number().int(),
  }),
});
export type EnrolResult = z.infer<typeof enrolResult>;

/** A mailbox's sending rules for sequences (a warm mailbox: ~30-50 a day, 5-9 an hour, 90-420 s apart). */
export const mailboxSending = z.object({
  mailboxId: uuid,
  address: z.string().nullable(),
  name: z.string(),
  dailyCap: z.number().int().min(1).max(2_000),
  hourlyCap: z.number().int().min(1).max(500),
  minGapSeconds: z.number().int().min(0).max(86_400),
  maxGapSeconds: z.number().int().min(0).max(86_400),
  timeZone: z.string(),
  workday: timeWindow,
  warmup: z.object({
    enabled: z.boolean(),
    startCap: z.number().int().min(1).max(500),
    /** Added to the cap each clean day. */
    increment: z.number().int().min(0).max(100),
    /** The cap today (rises toward dailyCap while bounces and complaints stay under the thresholds). */
    currentCap: z.number().int(),
  }),
  pausedAt: isoDate.nullable(),
  pauseReason: z.string().nullable(),
  sentToday: z.number().int(),
  sentThisHour: z.number().int(),
});
export type MailboxSending = z.infer<typeof mailboxSending>;
export const mailboxSendingPatch = z
  .object({
    dailyCap: z.number().int().min(1).max(2_000).optional(),
    hourlyCap: z.number().int().min(1).max(500).optional(),
    minGapSeconds: z.number().int().min(0).max(86_400).optional(),
    maxGapSeconds: z.number().int().min(0).max(86_400).optional(),
    timeZone: z.string().min(1).max(64).optional(),
    workday: timeWindow.optional(),
    warmup: z
      .object({
        enabled: z.boolean(),
        startCap: z.number().int().min(1).max(500),
        increment: z.number().int().min(0).max(100),
      })
      .optional(),
    /** false resumes a paused mailbox. */
    paused: z.boolean().optional(),
  })
  .strict();
export type MailboxSendingPatch = z.input<typeof mailboxSendingPatch>;

/** Per step and in total: what happened to the mail of a sequence. */
export const stepCounters = z.object({
  sent: z.number().int(),
  opened: z.number().int(),
  clicked: z.number().int(),
  replied: z.number().int(),
  bounced: z.number().int(),
  unsubscribed: z.number().int(),
});
export const sequenceReport = z.object({
  enrolled: z.number().int(),
  positiveReplies: z.number().int(),
  totals: stepCounters,
  steps: z.array(stepCounters.extend({ stepId: uuid, position: z.number().int(), kind: stepKind })),
  /** Per day in the workspace's time zone: sends and replies (the chart). */
  days: z.array(z.object({ day: z.string(), sent: z.number().int(), replied: z.number().int() })),
  /** Per mailbox of the pool, its daily volume against its cap. */
  mailboxes: z.array(
    z.object({
      mailboxId: uuid,
      address: z.string().nullable(),
      days: z.array(z.object({ day: z.string(), sent: z.number().int(), cap: z.number().int() })),
    }),
  ),
});
export type SequenceReport = z.infer<typeof sequenceReport>;

export const CHECK_STATUSES = ['pass', 'warn', 'fail'] as const;
const check = z.object({ status: z.enum(CHECK_STATUSES), detail: z.string() });
/** Before launch: each sending domain's SPF, DKIM and DMARC, and each email step's spam score. */
export const preflight = z.object({
  domains: z.array(
    z.object({
      domain: z.string(),
      spf: check,
      dkim: check,
      dmarc: check.extend({ policy: z.string().nullable() }),
    }),
  ),
  steps: z.array(
    z.object({
      stepId: uuid,
      /** null: no spam checker is configured (no score rather than a wrong one). */
      spam: z
        .object({
          engine: z.enum(['spamd', 'rspamd']),
          score: z.number(),
          threshold: z.number(),
          rules: z.array(z.object({ name: z.string(), score: z.number(), description: z.string().nullable() })),
        })
        .nullable(),
      /** Tokens used without a fallback that some enrolled prospects lack, and unknown tokens. */
      tokenProblems: z.array(z.string()),
    }),
  ),
});
export type Preflight = z.infer<typeof preflight>;

/** A sending domain's standing over the last 7 and 30 days (auto-pause at complaints >= 0.3 %). */
const rates = z.object({
  sent: z.number().int(),
  bounceRate: z.number(),
  complaintRate: z.number(),
  replyRate: z.number(),
});
export const domainReputation = z.object({
  domain: z.string(),
  last7: rates,
  last30: rates,
  pausedAt: isoDate.nullable(),
  pauseReason: z.string().nullable(),
});
export const reputationList = z.object({ items: z.array(domainReputation) });

/** GET /api/sequences: not archived unless asked for. */
export const sequenceListQuery = z.object({ status: sequenceStatus.optional() }).strict();
/** GET /api/sequences/:id/enrolments: newest first, in keyset pages, optionally of one status. */
export const enrolmentListQuery = z
  .object({
    status: enrolmentStatus.optional(),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
/** PATCH /api/sequences/:id/enrolments/:eid: the owner's verdict on the prospect's reply. */
export const enrolmentPatch = z.object({ positive: z.boolean().nullable() }).strict();
/** POST /api/sequences/:id/enrolments/:eid/deal: the deal made from a positive reply (the prospect is marked positive). */
export const enrolmentDeal = z.object({ enrolment, deal: z.object({ id: uuid, title: z.string() }) });
export type EnrolmentDeal = z.infer<typeof enrolmentDeal>;
/** GET /api/sequences/mailboxes. */
export const mailboxSendingList = z.object({ items: z.array(mailboxSending) });
