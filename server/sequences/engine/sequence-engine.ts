import type { StopReason } from '#contracts/sequences';
import type { MikroORM } from '../../../db/orm.ts';
import type { BulkEngine } from '../../delivery/bulk/engine.ts';
import type { BulkTokens } from '../../delivery/bulk/tokens.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { Logger } from '../../logger.ts';
import type { TasksService } from '../../tasks/tasks.service.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';
import { SequenceHandler } from './handler.ts';
import { SequenceRunner } from './runner.ts';
import { stopEnrolments, type StopTarget } from './stop.ts';

export interface SequenceEngineDeps {
  orm: MikroORM;
  activities: ActivitiesService;
  queue: JobQueue;
  bulkTokens: BulkTokens;
  publicUrl: string;
  inboundDomain: string;
  log: Logger;
}

/**
 * The execution of sequences (`services.sequenceEngine`): `start` puts new enrolments on their first step, `tick`
 * advances the due ones (waits, conditions, tasks, email sends booked into a mailbox's slots), `stop` ends them and
 * takes back their queued sends. Email steps go out through the bulk engine's handler of source `sequence`.
 */
export class SequenceEngine {
  readonly #d: SequenceEngineDeps;
  #runner: SequenceRunner | null = null;
  readonly handler: SequenceHandler;

  constructor(deps: SequenceEngineDeps) {
    this.#d = deps;
    this.handler = new SequenceHandler({ ...deps, log: deps.log });
  }

  /** Wired once the services exist: tasks for task steps, and the bulk engine the email steps go through. */
  attach(deps: { tasks: Pick<TasksService, 'createIn'>; bulk: Pick<BulkEngine, 'register'>; random?: () => number }) {
    this.#runner = new SequenceRunner({
      ...this.#d,
      tasks: deps.tasks,
      ...(deps.random ? { random: deps.random } : {}),
    });
    deps.bulk.register(this.handler);
  }

  /** In the enrolling transaction: each new active enrolment on its first remaining step, due now. */
  async start(uow: UnitOfWork, enrolmentIds: string[], now: Date = new Date()): Promise<void> {
    if (!enrolmentIds.length) return;
    await uow.em.execute(
      `with first as (
         select e.id,
                (select st.id from sequence_steps st
                  where st.tenant_id = e.tenant_id and st.sequence_id = e.sequence_id and st.deleted_at is null
                  order by st.position limit 1) as step_id
           from sequence_enrolments e
          where e.tenant_id = ? and e.id = any(?::uuid[]) and e.status = 'active' and e.step_entered_at is null)
       update sequence_enrolments e set current_step_id = first.step_id, step_entered_at = ?, next_run_at = ?,
              updated_at = now()
         from first where e.id = first.id`,
      [uow.actor.tenantId, `{${enrolmentIds.join(',')}}`, now, now],
    );
  }

  /** Stops active/paused enrolments (one, or all of a contact), cancels their unclaimed sends; how many stopped. */
  stop(uow: UnitOfWork, target: StopTarget, reason: StopReason, now: Date = new Date()): Promise<number> {
    return stopEnrolments(uow, this.#d.activities, target, reason, now);
  }

  /** One run of the due sweep (the worker's cron each minute with the real clock; tests with a fake one). */
  tick(now: Date): Promise<{ evaluated: number }> {
    if (!this.#runner) throw new Error('the sequence engine is not attached');
    return this.#runner.tick(now);
  }
}
