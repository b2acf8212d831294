import type { Branch, SequenceSettings, StepConfig } from '#contracts/sequences';
import type { UnitOfWork } from '../../tenancy.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';
import { recordEnrolments } from './stop.ts';

/** A step as the engine reads it (removed ones too: an enrolment may stand on one). */
export interface FlowStep {
  id: string;
  position: number;
  kind: StepConfig['kind'];
  config: StepConfig;
  deleted_at: Date | null;
}

/** A sequence with its whole flow, read once per batch. */
export interface FlowSequence {
  id: string;
  name: string;
  status: string;
  owner_id: string | null;
  mailbox_ids: string[];
  settings: SequenceSettings;
  steps: FlowStep[];
}

/** The enrolment columns the engine moves. */
export interface FlowEnrolment {
  id: string;
  sequence_id: string;
  contact_id: string;
  company_id: string | null;
  address: string;
  current_step_id: string | null;
  step_entered_at: Date | null;
  mailbox_id: string | null;
  time_zone: string;
}

export async function loadSequence(uow: UnitOfWork, id: string): Promise<FlowSequence | null> {
  const [s] = (await uow.em.execute(
    `select id, name, status, owner_id, mailbox_ids, settings from sequences where id = ?`,
    [id],
  )) as Omit<FlowSequence, 'steps'>[];
  if (!s) return null;
  const steps = (await uow.em.execute(
    `select id, position, kind, config, deleted_at from sequence_steps where sequence_id = ? order by position, created_at`,
    [id],
  )) as FlowStep[];
  return { ...s, steps };
}

/** The first remaining step after `position` (null: the end). */
export function nextAfter(seq: FlowSequence, position: number): FlowStep | null {
  return seq.steps.find((s) => !s.deleted_at && s.position > position) ?? null;
}

/** Where a branch leads from a step: the next remaining one, the end, or a step (a removed one: the next after it). */
export function follow(seq: FlowSequence, from: FlowStep, branch: Branch): FlowStep | null {
  if (branch === 'end') return null;
  if (branch === 'next') return nextAfter(seq, from.position);
  const target = seq.steps.find((s) => s.id === branch);
  if (!target) return nextAfter(seq, from.position);
  return target.deleted_at ? nextAfter(seq, target.position) : target;
}

/**
 * Puts the enrolment on `step` (entered now, due now) or, at the end, completes it with `sequence.completed` on the
 * contact's timeline. Answers whether it is still running.
 */
export async function enter(
  uow: UnitOfWork,
  activities: ActivitiesService,
  seq: FlowSequence,
  e: FlowEnrolment,
  step: FlowStep | null,
  now: Date,
): Promise<boolean> {
  if (step) {
    await uow.em.execute(
      `update sequence_enrolments set current_step_id = ?, step_entered_at = ?, next_run_at = ?, updated_at = now()
        where id = ?`,
      [step.id, now, now, e.id],
    );
    e.current_step_id = step.id;
    e.step_entered_at = now;
    return true;
  }
  await uow.em.execute(
    `update sequence_enrolments set status = 'completed', completed_at = ?, current_step_id = null, next_run_at = null,
            updated_at = now(), version = version + 1
      where id = ? and status = 'active'`,
    [now, e.id],
  );
  await recordEnrolments(uow, activities, 'sequence.completed', [{ ...e, sequence_name: seq.name }]);
  return false;
}
