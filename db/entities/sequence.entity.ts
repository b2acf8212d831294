import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import {
  ENROL_SOURCES,
  ENROLMENT_STATUSES,
  SEQUENCE_STATUSES,
  STEP_KINDS,
  STOP_REASONS,
  type SequenceSettings,
  type StepConfig,
  type TimeWindow,
} from '#contracts/sequences';
import { ContactSchema } from './contact.entity.ts';
import { MailboxSchema } from './mailbox.entity.ts';
import { TenantSchema } from './tenant.entity.ts';
import { tenantOwned, userRef, versioned } from './tenant-owned.ts';

const updatedAt = () =>
  p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date())
    .defaultRaw('now()');

/** A cold-email sequence: its flow of steps, the mailboxes it sends from, and its sending rules (contracts/sequences.ts). */
export const SequenceSchema = defineEntity({
  name: 'Sequence',
  tableName: 'sequences',
  properties: {
    ...tenantOwned,
    name: p.string().length(200),
    status: p.enum(SEQUENCE_STATUSES).default('draft'),
    ownerId: () => userRef('owner_id'),
    /** The pool of sending mailboxes (ids), each prospect pinned to one of them. */
    mailboxIds: p.json<string[]>().defaultRaw(`'[]'`),
    settings: p.json<SequenceSettings>(),
    launchedAt: p.datetime().nullable(),
    archivedAt: p.datetime().nullable(),
    createdBy: () => userRef('created_by'),
    updatedAt: updatedAt(),
    version: versioned(),
  },
  indexes: [{ properties: ['tenantId', 'status'] }],
});
export type Sequence = InferEntity<typeof SequenceSchema>;

/** One step of a sequence's flow, in `position` order; a removed step is kept (its send rows and stats refer to it). */
export const SequenceStepSchema = defineEntity({
  name: 'SequenceStep',
  tableName: 'sequence_steps',
  properties: {
    ...tenantOwned,
    sequenceId: () =>
      p.manyToOne(SequenceSchema).mapToPk().fieldName('sequence_id').deleteRule('cascade').updateRule('cascade'),
    position: p.integer(),
    kind: p.enum(STEP_KINDS),
    config: p.json<StepConfig>(),
    deletedAt: p.datetime().nullable(),
    updatedAt: updatedAt(),
  },
  indexes: [{ properties: ['tenantId', 'sequenceId', 'position'] }],
});
export type SequenceStep = InferEntity<typeof SequenceStepSchema>;

/**
 * A prospect's way through a sequence: where they are, when the engine next acts for them, the mailbox they are
 * pinned to and the thread their follow-ups continue. At most one active or paused enrolment per contact.
 */
export const SequenceEnrolmentSchema = defineEntity({
  name: 'SequenceEnrolment',
  tableName: 'sequence_enrolments',
  properties: {
    ...tenantOwned,
    sequenceId: () =>
      p.manyToOne(SequenceSchema).mapToPk().fieldName('sequence_id').deleteRule('cascade').updateRule('cascade'),
    contactId: () =>
      p.manyToOne(ContactSchema).mapToPk().fieldName('contact_id').deleteRule('cascade').updateRule('cascade'),
    /** The address enrolled (the contact's at the time). */
    address: p.string().length(320),
    status: p.enum(ENROLMENT_STATUSES).default('active'),
    stopReason: p.enum(STOP_REASONS).nullable(),
    currentStepId: p.uuid().nullable(),
    stepEnteredAt: p.datetime().nullable(),
    /** When the engine next looks at this prospect; null while a send of theirs is queued in the bulk engine. */
    nextRunAt: p.datetime().nullable(),
    mailboxId: () =>
      p
        .manyToOne(MailboxSchema)
        .mapToPk()
        .fieldName('mailbox_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    timeZone: p.string().length(64),
    timeZoneSource: p.enum(['contact', 'country', 'mailbox'] as const),
    /** The thread follow-ups continue: the last sent step's Message-ID, its References and its subject. */
    threadMessageId: p.string().length(998).nullable(),
    threadReferences: p.text().nullable(),
    threadSubject: p.string().length(998).nullable(),
    lastSentAt: p.datetime().nullable(),
    repliedAt: p.datetime().nullable(),
    positive: p.boolean().nullable(),
    source: p.enum(ENROL_SOURCES).default('selection'),
    enrolledBy: () => userRef('enrolled_by'),
    stoppedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    updatedAt: updatedAt(),
    version: versioned(),
  },
  indexes: [
    { properties: ['tenantId', 'sequenceId', 'status'] },
    { properties: ['tenantId', 'contactId'] },
    {
      name: 'sequence_enrolments_one_active_index',
      expression: `create unique index "sequence_enrolments_one_active_index" on "sequence_enrolments" ("tenant_id", "contact_id") where "status" in ('active', 'paused')`,
    },
    {
      name: 'sequence_enrolments_due_index',
      expression: `create index "sequence_enrolments_due_index" on "sequence_enrolments" ("next_run_at") where "status" = 'active' and "next_run_at" is not null`,
    },
  ],
});
export type SequenceEnrolment = InferEntity<typeof SequenceEnrolmentSchema>;

/** A mailbox's sending rules for sequences; its row is also the lock that serialises its slot bookings. */
export const SequenceMailboxSchema = defineEntity({
  name: 'SequenceMailbox',
  tableName: 'sequence_mailboxes',
  properties: {
    mailboxId: () =>
      p
        .manyToOne(MailboxSchema)
        .mapToPk()
        .fieldName('mailbox_id')
        .primary()
        .deleteRule('cascade')
        .updateRule('cascade'),
    tenantId: () =>
      p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').deleteRule('cascade').updateRule('cascade'),
    dailyCap: p.integer().default(40),
    hourlyCap: p.integer().default(7),
    minGapSeconds: p.integer().default(90),
    maxGapSeconds: p.integer().default(420),
    timeZone: p.string().length(64).default('Europe/Rome'),
    workday: p.json<TimeWindow>(),
    warmupEnabled: p.boolean().default(false),
    warmupStartCap: p.integer().default(5),
    warmupIncrement: p.integer().default(5),
    /** The cap today while warming up (null: dailyCap). */
    currentCap: p.integer().nullable(),
    /** The last booked send slot (the next one is at least a random gap after it). */
    lastSlotAt: p.datetime().nullable(),
    /** When the warmup job last raised currentCap (once a day). */
    warmupRaisedAt: p.datetime().nullable(),
    /** The warmup's last pause: after a resume by hand only sends from then are judged. */
    warmupJudgedFrom: p.datetime().nullable(),
    pausedAt: p.datetime().nullable(),
    pauseReason: p.string().length(500).nullable(),
    updatedAt: updatedAt(),
  },
  indexes: [{ properties: ['tenantId'] }],
});
export type SequenceMailbox = InferEntity<typeof SequenceMailboxSchema>;

/** A sending domain's sequence standing: paused when its bounce or complaint rate passed a threshold. */
export const SequenceDomainSchema = defineEntity({
  name: 'SequenceDomain',
  tableName: 'sequence_domains',
  properties: {
    tenantId: () =>
      p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').primary().deleteRule('cascade').updateRule('cascade'),
    domain: p.string().length(255).primary(),
    pausedAt: p.datetime().nullable(),
    pauseReason: p.string().length(500).nullable(),
    checkedAt: p.datetime().nullable(),
    /** Resumed by hand: the auto-pause counts only sends after it. */
    resumedAt: p.datetime().nullable(),
    updatedAt: updatedAt(),
  },
  primaryKeys: ['tenantId', 'domain'],
});
export type SequenceDomain = InferEntity<typeof SequenceDomainSchema>;
