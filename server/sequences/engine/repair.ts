import type { MikroORM } from '../../../db/orm.ts';
import { bumpStats } from '../../delivery/bulk/stats.ts';
import { BULK_DISPATCH_QUEUE } from '../../delivery/bulk/types.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { Logger } from '../../logger.ts';
import { inTenant, systemActor, type UnitOfWork } from '../../tenancy.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';
import { enter, loadSequence, nextAfter, type FlowEnrolment } from './flow.ts';
import { stopEnrolments } from './stop.ts';

export interface RepairDeps {
  orm: MikroORM;
  activities: ActivitiesService;
  queue: JobQueue;
  log: Logger;
}

const LIMIT = 100;

/**
 * Mends what the send path leaves behind, before each sweep: a prospect whose email row was sent but not moved on
 * goes to its next step; one refused by consent or bounced is stopped; one whose row failed (it was paused when the
 * row's time came) gets the step queued again; a step with overdue rows and no job (its sequence was paused, then
 * resumed) gets a dispatch job.
 */
export async function repairSequences(d: RepairDeps, now: Date): Promise<number> {
  const found = (await d.orm.em
    .getConnection()
    .execute(`select tenant_id, kind, id from filo_sequence_repairs(?, ?)`, [now, LIMIT])) as {
    tenant_id: string;
    kind: 'enrolment' | 'step';
    id: string;
  }[];
  let mended = 0;
  for (const r of found) {
    try {
      mended += await inTenant(d.orm, systemActor(r.tenant_id, 'Filo sequences'), (uow) =>
        r.kind === 'step' ? dispatchStep(d, uow, r.id) : mendEnrolment(d, uow, r.id, now),
      );
    } catch (err) {
      d.log.error({ err, kind: r.kind, id: r.id }, 'sequence repair failed');
    }
  }
  return mended;
}

async function dispatchStep(d: RepairDeps, uow: UnitOfWork, stepId: string): Promise<number> {
  // One such job at a time per step: the sweep runs each minute while the rows wait for a worker.
  await d.queue.send(
    BULK_DISPATCH_QUEUE,
    { tenantId: uow.actor.tenantId, source: 'sequence', sourceId: stepId },
    { uow, singletonKey: `sequence-repair:${stepId}` },
  );
  return 1;
}

async function mendEnrolment(d: RepairDeps, uow: UnitOfWork, id: string, now: Date): Promise<number> {
  const { em, actor } = uow;
  const [e] = (await em.execute(
    `select e.id, e.sequence_id, e.contact_id, c.company_id, e.address, e.current_step_id, e.step_entered_at,
            e.mailbox_id, e.time_zone,
            (select b.id from bulk_sends b where b.tenant_id = e.tenant_id and b.source = 'sequence'
               and b.source_id = e.current_step_id and b.contact_id = e.contact_id) as row_id,
            (select b.status from bulk_sends b where b.tenant_id = e.tenant_id and b.source = 'sequence'
               and b.source_id = e.current_step_id and b.contact_id = e.contact_id) as row_status
       from sequence_enrolments e join contacts c on c.id = e.contact_id
      where e.id = ? and e.status = 'active' and e.next_run_at is null
      for update of e skip locked`,
    [id],
  )) as (FlowEnrolment & { row_id: string | null; row_status: string | null })[];
  if (!e) return 0;
  switch (e.row_status) {
    case 'pending':
    case 'deferred':
    case 'sending':
      return 0;
    case 'suppressed':
      return stopEnrolments(uow, d.activities, { enrolmentId: e.id }, 'suppressed', now);
    case 'bounced':
      return stopEnrolments(uow, d.activities, { enrolmentId: e.id }, 'bounced', now);
    case 'sent': {
      const seq = await loadSequence(uow, e.sequence_id);
      const step = seq?.steps.find((s) => s.id === e.current_step_id);
      if (!seq || !step) return 0;
      await enter(uow, d.activities, seq, e, nextAfter(seq, step.position), now);
      return 1;
    }
    default: {
      // Failed or cancelled while the prospect still runs: the row goes, the sweep books the step again.
      if (e.row_id) {
        await em.execute(`delete from bulk_sends where id = ?`, [e.row_id]);
        const counter = e.row_status === 'cancelled' ? 'cancelled' : 'failed';
        await bumpStats(
          em,
          { tenantId: actor.tenantId, source: 'sequence', sourceId: e.current_step_id!, variant: null },
          { recipients: -1, [counter]: -1 },
          now,
        );
      }
      await em.execute(`update sequence_enrolments set next_run_at = ?, updated_at = now() where id = ?`, [now, e.id]);
      return 1;
    }
  }
}
