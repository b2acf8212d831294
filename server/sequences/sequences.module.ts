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
