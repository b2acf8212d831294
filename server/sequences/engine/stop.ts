import type { StopReason } from '#contracts/sequences';
import { bumpStats } from '../../delivery/bulk/stats.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';

/** Which enrolments to stop: one, or every active or paused one of a contact. */
export type StopTarget = { enrolmentId: string } | { contactId: string };

/** The row of an enrolment the engine writes timeline entries about. */
export interface EnrolmentFacts {
  id: string;
  sequence_id: string;
  sequence_name: string;
  contact_id: string;
  company_id: string | null;
}

/** `sequence.<type>` on the contact's (and its company's) timeline, for each enrolment. */
export async function recordEnrolments(
  uow: UnitOfWork,
  activities: ActivitiesService,
  type: 'sequence.stopped' | 'sequence.completed' | 'sequence.step_sent',
  rows: (EnrolmentFacts & { extra?: Record<string, unknown>; title?: string })[],
): Promise<void> {
  if (!rows.length) return;
  await activities.recordMany(
    uow,
    rows.map((r) => ({
      entityType: 'contact' as const,
      entityId: r.contact_id,
      companyId: r.company_id,
      type,
      title:
        r.title ??
        (type === 'sequence.stopped'
          ? `Sequence “${r.sequence_name}” stopped`
          : `Sequence “${r.sequence_name}” completed`),
      data: { sequenceId: r.sequence_id, sequenceName: r.sequence_name, enrolmentId: r.id, ...r.extra },
      mailboxId: null,
    })),
  );
}

/**
 * Stops the active or paused enrolments of the target (idempotent: a stopped one is left as it is), cancels their
 * send rows not yet claimed (counted as cancelled in each step's stats) and writes `sequence.stopped`. A row already
 * claimed is left to the handler, which composes nothing for an enrolment no longer active (so it is never sent).
 */
export async function stopEnrolments(
  uow: UnitOfWork,
  activities: ActivitiesService,
  target: StopTarget,
  reason: StopReason,
  now: Date,
): Promise<number> {
  const { em, actor } = uow;
  const byEnrolment = 'enrolmentId' in target;
  const stopped = (await em.execute(
    `with t as (select id from sequence_enrolments
                 where tenant_id = ? and ${byEnrolment ? 'id' : 'contact_id'} = ? and status in ('active', 'paused')
                 for update)
     update sequence_enrolments e set status = 'stopped', stop_reason = ?, stopped_at = ?, next_run_at = null,
            updated_at = now(), version = e.version + 1
       from t where e.id = t.id
     returning e.id, e.sequence_id, e.contact_id,
               (select name from sequences s where s.id = e.sequence_id) as sequence_name,
               (select company_id from contacts c where c.id = e.contact_id) as company_id`,
    [actor.tenantId, byEnrolment ? target.enrolmentId : target.contactId, reason, now],
  )) as EnrolmentFacts[];
  if (!stopped.length) return 0;
  const cancelled = (await em.execute(
    `with t as (select b.id, b.status, b.source_id from bulk_sends b
                  join sequence_steps st on st.id = b.source_id and st.tenant_id = b.tenant_id
                  join jsonb_to_recordset(?::jsonb) as v(sequence_id uuid, contact_id uuid)
                    on v.sequence_id = st.sequence_id and v.contact_id = b.contact_id
                 where b.tenant_id = ? and b.source = 'sequence' and b.status in ('pending', 'deferred')
                 for update of b),
          u as (update bulk_sends b set status = 'cancelled', last_response = 'sequence stopped'
                  from t where b.id = t.id returning t.status as was, t.source_id)
     select source_id, count(*)::int as n, (count(*) filter (where was = 'deferred'))::int as deferred
       from u group by 1`,
    [JSON.stringify(stopped.map((s) => ({ sequence_id: s.sequence_id, contact_id: s.contact_id }))), actor.tenantId],
  )) as { source_id: string; n: number; deferred: number }[];
  for (const c of cancelled)
    await bumpStats(
      em,
      { tenantId: actor.tenantId, source: 'sequence', sourceId: c.source_id, variant: null },
      { cancelled: c.n, deferred: -c.deferred },
      now,
    );
  await recordEnrolments(
    uow,
    activities,
    'sequence.stopped',
    stopped.map((s) => ({ ...s, extra: { reason } })),
  );
  return stopped.length;
}
