import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { z } from 'zod';
import {
  sequenceSettings,
  type Sequence as SequenceView,
  type sequenceCreate,
  type sequencePatch,
  type SequenceSummary,
  type SequenceStatus,
  type StepsPut,
  type StopReason,
} from '#contracts/sequences';
import type { MikroORM } from '../../db/orm.ts';
import { MailboxSchema } from '../../db/entities/mailbox.entity.ts';
import { SequenceSchema, SequenceStepSchema, type Sequence } from '../../db/entities/sequence.entity.ts';
import { versionConflict } from '../crm/version-conflict.ts';
import { HttpError } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import { pgArray } from '../newsletters/segments.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { authorOf, inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import { findSequence, liveSteps, seesAll, sequenceDto, summaryDtos, visibleWhere } from './sequence-view.ts';
import { flowProblems, planSteps } from './steps.ts';
import { ARCHIVE_STOP_QUEUE } from './archive-queue.ts';

/** Prospects an archive stops in its own request (the rest in the archive job, this many per transaction). */
const ARCHIVE_BATCH = 100;

/** What the API needs of the engine (services.sequenceEngine): set new enrolments going, stop them. */
export interface SequenceEnginePort {
  start(uow: UnitOfWork, enrolmentIds: string[], now?: Date): Promise<void>;
  stop(
    uow: UnitOfWork,
    target: { enrolmentId: string } | { contactId: string },
    reason: StopReason,
    now?: Date,
  ): Promise<number>;
}

const invalidStatus = (s: Sequence, what: string) =>
  new HttpError(409, 'invalid_status', `A ${s.status} sequence cannot be ${what}`);

/**
 * Cold-email sequences: their authoring (name, owner, mailbox pool, settings, the flow of steps) and lifecycle
 * (draft -> active <-> paused -> archived). Owners and admins see and change every sequence, members their own.
 */
export class SequencesService {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;
  readonly #queue: JobQueue;
  /** Wired once services exist (the engine is built after this service). */
  engine!: SequenceEnginePort;

  constructor(orm: MikroORM, mailboxes: MailboxesService, queue: JobQueue) {
    this.#orm = orm;
    this.#mailboxes = mailboxes;
    this.#queue = queue;
  }

  list(actor: Actor, q: { status?: SequenceStatus | undefined }): Promise<{ items: SequenceSummary[] }> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const where: Record<string, unknown> = { ...visibleWhere(actor) };
      where.status = q.status ?? { $ne: 'archived' };
      const rows = await em.find(SequenceSchema, where as never, { orderBy: { createdAt: 'desc' }, limit: 500 });
      return { items: await summaryDtos(em, rows) };
    });
  }

  get(actor: Actor, id: string): Promise<SequenceView> {
    return inTenant(this.#orm, actor, async (uow) => sequenceDto(uow, await findSequence(uow, id)));
  }

  /** A member may give a sequence only to themselves; an owner named must be a member of the workspace. */
  async #checkOwner(uow: UnitOfWork, ownerId: string | null | undefined) {
    if (ownerId === undefined || ownerId === uow.actor.userId) return;
    if (!seesAll(uow.actor)) throw new HttpError(403, 'forbidden', 'Only admins can give a sequence to another member');
    if (ownerId === null) return;
    const rows = await uow.em.execute(`select 1 from memberships where tenant_id = ? and user_id = ?`, [
      uow.actor.tenantId,
      ownerId,
    ]);
    if (!rows.length)
      throw new HttpError(400, 'validation_failed', 'Unknown member', { ownerId: 'not a member of this workspace' });
  }

  /** Every mailbox of the pool is one the actor sees. */
  async #checkMailboxes(uow: UnitOfWork, ids: string[] | undefined): Promise<string[] | undefined> {
    if (!ids) return undefined;
    const unique = [...new Set(ids)];
    if (!unique.length) return unique;
    const found = await uow.em.count(MailboxSchema, {
      id: { $in: unique },
      ...this.#mailboxes.visibleFilter(uow.actor),
    } as never);
    if (found !== unique.length)
      throw new HttpError(400, 'validation_failed', 'Unknown mailbox', { mailboxIds: 'not mailboxes you can use' });
    return unique;
  }

  create(actor: Actor, input: z.infer<typeof sequenceCreate>): Promise<SequenceView> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#checkOwner(uow, input.ownerId);
      const mailboxIds = (await this.#checkMailboxes(uow, input.mailboxIds)) ?? [];
      const s = uow.em.create(SequenceSchema, {
        tenantId: actor.tenantId,
        name: input.name,
        status: 'draft',
        ownerId: input.ownerId === undefined ? authorOf(actor) : input.ownerId,
        mailboxIds,
        settings: input.settings ?? sequenceSettings.parse({}),
        createdBy: authorOf(actor),
      } as never);
      await uow.em.flush();
      return sequenceDto(uow, s);
    });
  }

  /** The row locked, at the version the client saw (else 409 `version_conflict` with the sequence as it is). */
  async #atVersion(uow: UnitOfWork, id: string, version: number): Promise<Sequence> {
    const s = await findSequence(uow, id, true);
    if (s.version !== version) {
      const current = await sequenceDto(uow, s);
      throw versionConflict('Sequence', current, { changedBy: null, changedAt: current.updatedAt });
    }
    if (s.status === 'archived') throw new HttpError(409, 'sequence_archived', 'An archived sequence cannot be edited');
    return s;
  }

  update(actor: Actor, id: string, patch: z.infer<typeof sequencePatch>): Promise<SequenceView> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const s = await this.#atVersion(uow, id, patch.version);
      await this.#checkOwner(uow, patch.ownerId);
      const mailboxIds = await this.#checkMailboxes(uow, patch.mailboxIds);
      if (patch.name !== undefined) s.name = patch.name;
      if (patch.ownerId !== undefined) s.ownerId = patch.ownerId as never;
      if (mailboxIds) s.mailboxIds = mailboxIds;
      if (patch.settings) s.settings = patch.settings;
      s.updatedAt = new Date();
      await uow.em.flush();
      return sequenceDto(uow, s);
    });
  }

  /**
   * The whole flow at once: kept steps keep their ids (their sends and stats refer to them), steps left out are
   * marked removed (kept for the report; an enrolment standing on one moves on to the next remaining step).
   */
  putSteps(actor: Actor, id: string, input: StepsPut): Promise<SequenceView> {
    requireWrite(actor);
    const planned = planSteps(input.steps);
    return inTenant(this.#orm, actor, async (uow) => {
      const s = await this.#atVersion(uow, id, input.version);
      const existing = await uow.em.find(SequenceStepSchema, { sequenceId: s.id } as never);
      const byId = new Map(existing.map((st) => [st.id, st]));
      const now = new Date();
      const kept = new Set<string>();
      for (const [position, p] of planned.entries()) {
        kept.add(p.id);
        const row = byId.get(p.id);
        if (row) Object.assign(row, { position, kind: p.config.kind, config: p.config, deletedAt: null });
        else
          uow.em.create(SequenceStepSchema, {
            id: p.id,
            tenantId: actor.tenantId,
            sequenceId: s.id,
            position,
            kind: p.config.kind,
            config: p.config,
          } as never);
      }
      for (const row of existing) if (!kept.has(row.id) && !row.deletedAt) row.deletedAt = now;
      s.updatedAt = now;
      try {
        await uow.em.flush();
      } catch (err) {
        // A client-made id already taken (by another sequence, here or elsewhere) is refused, never taken over.
        if (err instanceof UniqueConstraintViolationException)
          throw new HttpError(400, 'validation_failed', 'A step id is already used', { steps: 'a step id is taken' });
        throw err;
      }
      return sequenceDto(uow, s);
    });
  }

  /** Mailboxes of the pool that can send: their own SMTP settings, or a member's connected email account. */
  async #sendingMailboxes(uow: UnitOfWork, ids: string[]): Promise<string[]> {
    if (!ids.length) return [];
    const rows = (await uow.em.execute(
      `select m.id from mailboxes m
        where m.tenant_id = filo_current_tenant() and m.id = any(?::uuid[])
          and (m.smtp_host is not null or exists (select 1 from email_accounts a where a.mailbox_id = m.id))`,
      [pgArray(ids)],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** Draft -> active: needs an email step, subjects and bodies, and a mailbox of the pool that can send (409). */
  launch(actor: Actor, id: string): Promise<SequenceView> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const s = await findSequence(uow, id, true);
      if (s.status !== 'draft') throw invalidStatus(s, 'launched');
      await this.#checkReady(uow, s);
      s.status = 'active';
      s.launchedAt = new Date();
      await uow.em.flush();
      return sequenceDto(uow, s);
    });
  }

  async #checkReady(uow: UnitOfWork, s: Sequence): Promise<void> {
    const steps = await liveSteps(uow.em, s.id);
    if (!steps.some((st) => st.kind === 'email'))
      throw new HttpError(409, 'sequence_no_email_step', 'The sequence needs at least one email step');
    const problems = flowProblems(steps);
    if (Object.keys(problems).length)
      throw new HttpError(409, 'sequence_not_ready', 'Some email steps are not written yet', problems);
    if (!(await this.#sendingMailboxes(uow, s.mailboxIds)).length)
      throw new HttpError(
        409,
        'sequence_no_mailbox',
        'The sequence needs a mailbox that can send: one with SMTP settings or an email account',
        { mailboxIds: 'add a mailbox with SMTP settings or an email account' },
      );
  }

  pause(actor: Actor, id: string): Promise<SequenceView> {
    return this.#move(actor, id, 'active', 'paused', 'paused');
  }

  /** Paused -> active, checked again (the pool's mailboxes may have changed meanwhile). */
  resume(actor: Actor, id: string): Promise<SequenceView> {
    return this.#move(actor, id, 'paused', 'active', 'resumed');
  }

  async #move(actor: Actor, id: string, from: SequenceStatus, to: SequenceStatus, what: string) {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const s = await findSequence(uow, id, true);
      if (s.status !== from) throw invalidStatus(s, what);
      if (to === 'active') await this.#checkReady(uow, s);
      s.status = to;
      await uow.em.flush();
      return sequenceDto(uow, s);
    });
  }

  /** Archived: no longer editable nor enrolling; its active and paused prospects are stopped by the engine. */
  archive(actor: Actor, id: string): Promise<SequenceView> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, (uow) => this.#archive(uow, id));
  }

  async #archive(uow: UnitOfWork, id: string): Promise<SequenceView> {
    const s = await findSequence(uow, id, true);
    if (s.status === 'archived') throw invalidStatus(s, 'archived again');
    const now = new Date();
    s.status = 'archived';
    s.archivedAt = now;
    await uow.em.flush();
    // Nothing of an archived sequence advances any more; its prospects are stopped now, or by the job when many.
    if ((await this.#stopSome(uow, s.id, now)).more)
      await this.#queue.send(
        ARCHIVE_STOP_QUEUE,
        { tenantId: uow.actor.tenantId, sequenceId: s.id },
        { uow, singletonKey: s.id },
      );
    return sequenceDto(uow, s);
  }

  /** Stops up to ARCHIVE_BATCH active or paused prospects of an archived sequence: how many, and whether more are left. */
  async #stopSome(uow: UnitOfWork, sequenceId: string, now: Date): Promise<{ stopped: number; more: boolean }> {
    const enrolments = (await uow.em.execute(
      `select id from sequence_enrolments
        where tenant_id = filo_current_tenant() and sequence_id = ? and status in ('active', 'paused')
        order by id limit ${ARCHIVE_BATCH + 1}`,
      [sequenceId],
    )) as { id: string }[];
    let stopped = 0;
    for (const e of enrolments.slice(0, ARCHIVE_BATCH))
      stopped += await this.engine.stop(uow, { enrolmentId: e.id }, 'sequence_archived', now);
    return { stopped, more: enrolments.length > ARCHIVE_BATCH };
  }

  /** The archive job: every prospect still in an archived sequence stopped, a batch per transaction; how many. */
  async stopArchived(tenantId: string, sequenceId: string): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await inTenant(this.#orm, systemActor(tenantId), async (uow) => {
        const [s] = (await uow.em.execute(`select status from sequences where id = ? for update`, [sequenceId])) as {
          status: string;
        }[];
        return s?.status === 'archived' ? this.#stopSome(uow, sequenceId, new Date()) : { stopped: 0, more: false };
      });
      total += batch.stopped;
      if (!batch.more) return total;
    }
  }

  /** DELETE: a draft is deleted (with its steps and enrolments); any other sequence is archived (its history kept). */
  remove(actor: Actor, id: string): Promise<{ deleted: boolean }> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const s = await findSequence(uow, id, true);
      if (s.status !== 'draft') {
        if (s.status !== 'archived') await this.#archive(uow, id);
        return { deleted: false };
      }
      // A draft never ran: no mail of it exists, its steps and enrolments go with it.
      uow.em.remove(s);
      await uow.em.flush();
      return { deleted: true };
    });
  }
}
