import type { MikroORM } from '../../../db/orm.ts';
import { bumpStats } from '../../delivery/bulk/stats.ts';
import { BULK_DISPATCH_QUEUE } from '../../delivery/bulk/types.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { Logger } from '../../logger.ts';
import type { TasksService } from '../../tasks/tasks.service.ts';
import { inTenant, systemActor, type UnitOfWork } from '../../tenancy.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';
import {
  enter,
  follow,
  loadSequence,
  nextAfter,
  type FlowEnrolment,
  type FlowSequence,
  type FlowStep,
} from './flow.ts';
import { repairSequences } from './repair.ts';
import { afterWait } from './schedule.ts';
import { bookSlot } from './slots.ts';

export interface RunnerDeps {
  orm: MikroORM;
  activities: ActivitiesService;
  tasks: Pick<TasksService, 'createIn'>;
  queue: JobQueue;
  inboundDomain: string;
  log: Logger;
  random?: () => number;
}

/** Enrolments claimed per query; a tick takes a few batches, then leaves the rest to the next minute. */
const BATCH = 100;
/**
 * Enrolments advanced per transaction: their rows stay locked until it commits, and a reply's stop waits for them
 * (with 100 in one transaction, the bench's reply -> stopped p95 was 5-7 s).
 */
const CHUNK = 10;
const ROUNDS = 20;
/** Steps one enrolment may take in one tick (a condition leading back to an earlier step cannot spin). */
const MOVES = 12;
/** How often an open condition (not yet true, deadline not reached) is looked at again. */
const CONDITION_POLL_MS = 15 * 60_000;
/** A prospect waiting for a mailbox (paused, or no slot within three weeks) is looked at again after this. */
const MAILBOX_RETRY_MS = 3_600_000;
const DAY_MS = 86_400_000;

interface Workspace {
  slug: string;
  time_zone: string;
}

/**
 * The due sweep: claims active enrolments of active sequences whose `next_run_at` has come, across workspaces in
 * batches (`for update skip locked`, so several workers share them), and moves each as far as it can go now: waits
 * set their end, conditions branch (or wait for their deadline), splits draw a path, tasks are made, and an email
 * step books a slot on the prospect's pinned mailbox and queues one send row there (the handler moves on once sent).
 */
export class SequenceRunner {
  readonly #d: RunnerDeps;
  readonly #random: () => number;

  constructor(deps: RunnerDeps) {
    this.#d = deps;
    this.#random = deps.random ?? Math.random;
  }

  async tick(now: Date): Promise<{ evaluated: number }> {
    let evaluated = await repairSequences(this.#d, now);
    for (let round = 0; round < ROUNDS; round++) {
      const due = (await this.#d.orm.em
        .getConnection()
        .execute(`select tenant_id, enrolment_id from filo_due_sequence_enrolments(?, ?)`, [now, BATCH])) as {
        tenant_id: string;
        enrolment_id: string;
      }[];
      if (!due.length) break;
      const byTenant = new Map<string, string[]>();
      for (const r of due) byTenant.set(r.tenant_id, [...(byTenant.get(r.tenant_id) ?? []), r.enrolment_id]);
      let moved = 0;
      for (const [tenantId, ids] of byTenant) {
        for (let i = 0; i < ids.length; i += CHUNK) {
          try {
            moved += await inTenant(this.#d.orm, systemActor(tenantId, 'Filo sequences'), (uow) =>
              this.#batch(uow, ids.slice(i, i + CHUNK), now),
            );
          } catch (err) {
            this.#d.log.error({ err, tenantId }, 'sequence enrolments not advanced');
          }
        }
      }
      evaluated += moved;
      // Rows another worker holds stay due: this one stops when it claimed none of a full batch.
      if (due.length < BATCH || !moved) break;
    }
    return { evaluated };
  }

  /** Up to CHUNK enrolments of one workspace, in one transaction (each enrolment in a savepoint of its own). */
  async #batch(uow: UnitOfWork, ids: string[], now: Date): Promise<number> {
    const rows = (await uow.em.execute(
      `select e.id, e.sequence_id, e.contact_id, c.company_id, e.address, e.current_step_id, e.step_entered_at,
              e.mailbox_id, e.time_zone
         from sequence_enrolments e join contacts c on c.id = e.contact_id
        where e.id = any(?::uuid[]) and e.status = 'active' and e.next_run_at <= ?
        for update of e skip locked`,
      [`{${ids.join(',')}}`, now],
    )) as FlowEnrolment[];
    if (!rows.length) return 0;
    const [ws] = (await uow.em.execute(`select slug, time_zone from tenants where id = ?`, [
      uow.actor.tenantId,
    ])) as Workspace[];
    const sequences = new Map<string, FlowSequence | null>();
    for (const e of rows) {
      if (!sequences.has(e.sequence_id)) sequences.set(e.sequence_id, await loadSequence(uow, e.sequence_id));
      const seq = sequences.get(e.sequence_id);
      if (!seq || seq.status !== 'active') continue;
      try {
        await uow.em.transactional((tx) => this.#advance({ ...uow, em: tx as UnitOfWork['em'] }, ws!, seq, e, now));
      } catch (err) {
        this.#d.log.error({ err, enrolmentId: e.id }, 'sequence enrolment not advanced: tried again later');
        await uow.em.execute(`update sequence_enrolments set next_run_at = ? where id = ?`, [
          new Date(now.getTime() + MAILBOX_RETRY_MS),
          e.id,
        ]);
      }
    }
    return rows.length;
  }

  /** Moves one enrolment as far as it goes now. */
  async #advance(uow: UnitOfWork, ws: Workspace, seq: FlowSequence, e: FlowEnrolment, now: Date): Promise<void> {
    const { activities } = this.#d;
    const due = (at: Date) =>
      uow.em.execute(`update sequence_enrolments set next_run_at = ?, updated_at = now() where id = ?`, [at, e.id]);
    for (let move = 0; move < MOVES; move++) {
      let step = seq.steps.find((s) => s.id === e.current_step_id) ?? null;
      if (!step) {
        await enter(uow, activities, seq, e, null, now);
        return;
      }
      if (step.deleted_at) {
        step = nextAfter(seq, step.position);
        if (!(await enter(uow, activities, seq, e, step, now))) return;
        continue;
      }
      const entered = e.step_entered_at ? new Date(e.step_entered_at) : now;
      const cfg = step.config;
      let next: FlowStep | null | undefined;
      if (cfg.kind === 'wait') {
        const end = afterWait(entered, cfg, e.time_zone);
        if (end > now) return void (await due(end));
        next = nextAfter(seq, step.position);
      } else if (cfg.kind === 'condition' && cfg.test === 'split') {
        next = follow(seq, step, this.#draw(cfg.paths).goto);
      } else if (cfg.kind === 'condition') {
        if (await this.#holds(uow, seq, e, cfg.test)) next = follow(seq, step, cfg.then);
        else {
          const deadline = new Date(entered.getTime() + cfg.withinDays * DAY_MS);
          if (deadline > now)
            return void (await due(new Date(Math.min(deadline.getTime(), now.getTime() + CONDITION_POLL_MS))));
          next = follow(seq, step, cfg.else);
        }
      } else if (cfg.kind === 'task') {
        await this.#d.tasks.createIn(uow, {
          title: cfg.title,
          description: cfg.description,
          dueAt: new Date(now.getTime() + cfg.dueInDays * DAY_MS).toISOString(),
          priority: 'normal',
          assigneeId: cfg.assigneeId ?? seq.owner_id,
          contactId: e.contact_id,
          source: 'sequence',
        });
        next = nextAfter(seq, step.position);
      } else {
        const queued = await this.#queueEmail(uow, ws, seq, e, step, now);
        if (queued !== 'sent-before') return;
        next = nextAfter(seq, step.position);
      }
      if (!(await enter(uow, activities, seq, e, next, now))) return;
    }
    // Still moving after many steps: the rest waits for the next tick.
    await due(now);
  }

  #draw<T extends { weight: number }>(paths: T[]): T {
    const total = paths.reduce((a, p) => a + p.weight, 0);
    let r = this.#random() * total;
    for (const p of paths) if ((r -= p.weight) < 0) return p;
    return paths.find((p) => p.weight > 0) ?? paths[0]!;
  }

  /** A condition over the prospect's mail of this sequence: opened by a person, clicked, or replied. */
  async #holds(uow: UnitOfWork, seq: FlowSequence, e: FlowEnrolment, test: 'opened' | 'clicked' | 'replied') {
    // opened_at is only ever set by a person's open (scanners and prefetches are told apart when tracked).
    const column = { opened: 'opened_at', clicked: 'clicked_at', replied: 'replied_at' }[test];
    const [r] = (await uow.em.execute(
      `select (exists (select 1 from bulk_sends b
                        where b.tenant_id = ? and b.source = 'sequence' and b.contact_id = ?
                          and b.source_id = any(?::uuid[]) and b.${column} is not null)
               or (? = 'replied' and exists (select 1 from sequence_enrolments
                                              where id = ? and replied_at is not null))) as yes`,
      [uow.actor.tenantId, e.contact_id, `{${seq.steps.map((s) => s.id).join(',')}}`, test, e.id],
    )) as { yes: boolean }[];
    return Boolean(r?.yes);
  }

  /** The pinned mailbox, else the least loaded of the pool that may send now (pinned from here on). */
  async #mailbox(uow: UnitOfWork, ws: Workspace, seq: FlowSequence, e: FlowEnrolment): Promise<string | null> {
    if (e.mailbox_id) return e.mailbox_id;
    if (!seq.mailbox_ids.length) return null;
    const [m] = (await uow.em.execute(
      `select mb.id from mailboxes mb
         left join sequence_mailboxes sm on sm.mailbox_id = mb.id
         left join sequence_domains sd
           on sd.tenant_id = mb.tenant_id and sd.paused_at is not null
          and sd.domain = lower(split_part(coalesce(mb.address, mb.local_part || '@' || ?), '@', 2))
        where mb.id = any(?::uuid[]) and sm.paused_at is null and sd.domain is null
        order by (select count(*) from sequence_enrolments x
                   where x.tenant_id = mb.tenant_id and x.mailbox_id = mb.id and x.status in ('active', 'paused')),
                 mb.id
        limit 1`,
      [this.#ownDomain(ws), `{${seq.mailbox_ids.join(',')}}`],
    )) as { id: string }[];
    if (!m) return null;
    await uow.em.execute(`update sequence_enrolments set mailbox_id = ? where id = ?`, [m.id, e.id]);
    e.mailbox_id = m.id;
    return m.id;
  }

  #ownDomain(ws: Workspace): string {
    return `${ws.slug.toLowerCase()}.${this.#d.inboundDomain}`;
  }

  /**
   * An email step: one send row of this prospect and step (never two: a row already there means it was sent or is
   * on its way) at a slot booked on the pinned mailbox, and a dispatch job at that slot. Waits when no mailbox may
   * send.
   */
  async #queueEmail(
    uow: UnitOfWork,
    ws: Workspace,
    seq: FlowSequence,
    e: FlowEnrolment,
    step: FlowStep,
    now: Date,
  ): Promise<'queued' | 'waiting' | 'sent-before'> {
    const { em, actor } = uow;
    const [existing] = (await em.execute(
      `select status from bulk_sends where tenant_id = ? and source = 'sequence' and source_id = ? and contact_id = ?`,
      [actor.tenantId, step.id, e.contact_id],
    )) as { status: string }[];
    if (existing) return 'sent-before';
    const wait = async () => {
      await em.execute(`update sequence_enrolments set next_run_at = ? where id = ?`, [
        new Date(now.getTime() + MAILBOX_RETRY_MS),
        e.id,
      ]);
      return 'waiting' as const;
    };
    const mailboxId = await this.#mailbox(uow, ws, seq, e);
    if (!mailboxId) return wait();
    const booking = await bookSlot(
      em,
      {
        tenantId: actor.tenantId,
        mailboxId,
        defaultZone: ws.time_zone,
        ownDomain: this.#ownDomain(ws),
        prospect: { zone: e.time_zone, window: seq.settings.window },
        notBefore: now,
      },
      this.#random,
    );
    if (booking.kind !== 'slot') return wait();
    await em.execute(
      `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, next_attempt_at,
                               message_id, mailbox_id)
       values (gen_random_uuid(), ?, 'sequence', ?, ?, ?, 'pending', ?, replace(gen_random_uuid()::text, '-', '') || '@' || ?, ?)`,
      [actor.tenantId, step.id, e.contact_id, e.address, booking.at, this.#ownDomain(ws), mailboxId],
    );
    await bumpStats(
      em,
      { tenantId: actor.tenantId, source: 'sequence', sourceId: step.id, variant: null },
      { recipients: 1 },
      now,
    );
    await this.#d.queue.send(
      BULK_DISPATCH_QUEUE,
      { tenantId: actor.tenantId, source: 'sequence', sourceId: step.id },
      { uow, startAfter: booking.at },
    );
    await em.execute(`update sequence_enrolments set next_run_at = null, updated_at = now() where id = ?`, [e.id]);
    return 'queued';
  }
}
