import type { MikroORM } from '../../db/orm.ts';
import type { ConsentService } from '../consent/consent.service.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { RecordsService } from '../crm/records.service.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { EnrolmentsService } from './enrol.ts';
import { SequenceMailboxesService } from './mailboxes.service.ts';
import { SequenceReports } from './report.ts';
import { SequencesService, type SequenceEnginePort } from './sequences.service.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Secrets } from '../crypto/secrets.ts';
import type { BulkTokens } from '../delivery/bulk/tokens.ts';
import type { BulkEngine } from '../delivery/bulk/engine.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import type { TasksService } from '../tasks/tasks.service.ts';
import { SequenceEngine } from './engine/sequence-engine.ts';
import { SequencePreflight } from './preflight/preflight.service.ts';
import { spamCheckerFrom } from './preflight/spam.ts';
import { SequenceReplies } from './replies/replies.ts';
import { SequenceReputation } from './replies/reputation.ts';
import { SequenceWarmup } from './replies/warmup.ts';

/** The services behind /api/sequences (the engine that runs the flows is `services.sequenceEngine`). */
export interface SequenceApiServices {
  /** Sequences: authoring and lifecycle (draft, active, paused, archived). */
  sequences: SequencesService;
  /** Prospects in sequences: enrolment, their list and controls, a deal from a positive reply. */
  sequenceEnrolments: EnrolmentsService;
  /** Each mailbox's sending rules for sequences (caps, gaps, workday, warmup). */
  sequenceMailboxes: SequenceMailboxesService;
  /** A sequence's numbers per step, per day and per mailbox. */
  sequenceReports: SequenceReports;
}

export function sequenceApiServices(deps: {
  orm: MikroORM;
  mailboxes: MailboxesService;
  consent: ConsentService;
  records: RecordsService;
  activities: ActivitiesService;
  queue: JobQueue;
}): SequenceApiServices {
  const sequenceMailboxes = new SequenceMailboxesService(deps.orm, deps.mailboxes);
  return {
    sequences: new SequencesService(deps.orm, deps.mailboxes, deps.queue),
    sequenceEnrolments: new EnrolmentsService(deps),
    sequenceMailboxes,
    sequenceReports: new SequenceReports(deps.orm, sequenceMailboxes),
  };
}

/** Once every service exists: the API starts and stops prospects through the engine. */
export function wireSequenceApi(s: SequenceApiServices & { sequenceEngine: SequenceEnginePort }): void {
  s.sequences.engine = s.sequenceEngine;
  s.sequenceEnrolments.engine = s.sequenceEngine;
}

/** Every service of cold-email sequences: the API's, the engine that runs the flows, replies, reputation, preflight. */
export interface SequenceServices extends SequenceApiServices {
  /** Cold-email sequences' execution: `start` new enrolments, `stop` them, `tick` (the due sweep, every minute). */
  sequenceEngine: SequenceEngine;
  /** Sequences' sending domains: bounce, complaint and reply rates over 7/30 days, auto-pause, resume. */
  sequenceReputation: SequenceReputation;
  /** The daily warmup of sequence mailboxes' caps (and the hourly domain check). */
  sequenceWarmup: SequenceWarmup;
  /** How sequences hear replies, out-of-office, bounces, complaints and unsubscribes of their mail. */
  sequenceReplies: SequenceReplies;
  /** Before launch: SPF, DKIM and DMARC of the sending domains, and each email step's spam score. */
  sequencePreflight: SequencePreflight;
}

export function sequenceServices(deps: {
  orm: MikroORM;
  config: Config;
  log: Logger;
  secrets: Secrets;
  mailboxes: MailboxesService;
  consent: ConsentService;
  records: RecordsService;
  activities: ActivitiesService;
  notifications: NotificationsService;
  queue: JobQueue;
  bulkTokens: BulkTokens;
}): SequenceServices {
  const { orm, config, log, notifications } = deps;
  const inboundDomain = config.smtp.inboundDomain;
  const reputation = new SequenceReputation({ orm, inboundDomain, notifications });
  return {
    ...sequenceApiServices(deps),
    sequenceEngine: new SequenceEngine({
      orm,
      activities: deps.activities,
      queue: deps.queue,
      bulkTokens: deps.bulkTokens,
      publicUrl: config.publicUrl,
      inboundDomain,
      log: log.child({ component: 'sequence-engine' }),
    }),
    sequenceReputation: reputation,
    sequenceWarmup: new SequenceWarmup({ orm, reputation, log: log.child({ component: 'sequence-warmup' }) }),
    sequenceReplies: new SequenceReplies({ consent: deps.consent, notifications, reputation }),
    sequencePreflight: new SequencePreflight({
      orm,
      secrets: deps.secrets,
      inboundDomain,
      relayUrl: config.smtpRelayUrl,
      spam: spamCheckerFrom(config.spam),
      dnsServers: config.dnsServers,
      log: log.child({ component: 'sequence-preflight' }),
    }),
  };
}

/**
 * Once every service exists: email steps are a source of the shared bulk engine and task steps make tasks; the API
 * starts and stops prospects through the engine; replies, bounces and unsubscribes of their mail stop them.
 */
export function wireSequences(s: SequenceServices & { tasks: TasksService; bulk: BulkEngine }): void {
  s.sequenceEngine.attach({ tasks: s.tasks, bulk: s.bulk });
  wireSequenceApi(s);
  s.bulk.onFeedback('sequence', s.sequenceReplies.listener);
  s.sequenceReplies.engine = s.sequenceEngine;
}
