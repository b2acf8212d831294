import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Sequence as SequenceView, SequenceSummary } from '#contracts/sequences';
import {
  SequenceSchema,
  SequenceStepSchema,
  type Sequence,
  type SequenceStep,
} from '../../db/entities/sequence.entity.ts';
import { pgArray } from '../newsletters/segments.ts';
import { notFound } from '../http/errors.ts';
import type { Actor, UnitOfWork } from '../tenancy.ts';

/**
 * Who sees a sequence: owners and admins every one of the workspace; a member only those they own (their prospects,
 * their mailboxes). Another's answers 404, as if it did not exist.
 */
export const seesAll = (actor: Actor): boolean => actor.system === true || actor.role !== 'member';
export const visibleWhere = (actor: Actor): Record<string, unknown> =>
  seesAll(actor) ? {} : { ownerId: actor.userId };

/** A sequence the actor may see (and so change), optionally under its row's lock. */
export async function findSequence(uow: UnitOfWork, id: string, lock = false): Promise<Sequence> {
  const s = await uow.em.findOne(
    SequenceSchema,
    { id, ...visibleWhere(uow.actor) } as never,
    lock ? { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true } : {},
  );
  if (!s) throw notFound('Sequence');
  return s;
}

type Counts = SequenceView['counts'];
const zeroCounts = (): Counts => ({ enrolled: 0, active: 0, completed: 0, stopped: 0, replied: 0 });

/** Enrolment counts per sequence, one grouped read. */
export async function countsOf(em: EntityManager, ids: string[]): Promise<Map<string, Counts>> {
  const out = new Map<string, Counts>();
  if (!ids.length) return out;
  const rows = (await em.execute(
    `select sequence_id, count(*)::int as enrolled,
            count(*) filter (where status in ('active', 'paused'))::int as active,
            count(*) filter (where status = 'completed')::int as completed,
            count(*) filter (where status in ('stopped', 'failed'))::int as stopped,
            count(*) filter (where replied_at is not null)::int as replied
       from sequence_enrolments where tenant_id = filo_current_tenant() and sequence_id = any(?::uuid[])
      group by sequence_id`,
    [pgArray(ids)],
  )) as (Counts & { sequence_id: string })[];
  for (const { sequence_id, ...c } of rows) out.set(sequence_id, c);
  return out;
}

async function ownersOf(em: EntityManager, ids: (string | null | undefined)[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((i): i is string => !!i))];
  if (!wanted.length) return new Map();
  const rows = (await em.execute(`select id, name from users where id = any(?::uuid[])`, [pgArray(wanted)])) as {
    id: string;
    name: string;
  }[];
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** The live (not removed) steps of a sequence, in order. */
export function liveSteps(em: EntityManager, sequenceId: string): Promise<SequenceStep[]> {
  return em.find(SequenceStepSchema, { sequenceId, deletedAt: null } as never, { orderBy: { position: 'asc' } });
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

function base(s: Sequence, owners: Map<string, string>, counts: Counts | undefined) {
  const ownerId = s.ownerId as string | null | undefined;
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    owner: ownerId ? { id: ownerId, name: owners.get(ownerId) ?? '' } : null,
    mailboxIds: s.mailboxIds,
    counts: counts ?? zeroCounts(),
    launchedAt: iso(s.launchedAt),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    version: s.version,
  };
}

export async function sequenceDto(uow: UnitOfWork, s: Sequence): Promise<SequenceView> {
  const [owners, counts, steps] = await Promise.all([
    ownersOf(uow.em, [s.ownerId as string | null]),
    countsOf(uow.em, [s.id]),
    liveSteps(uow.em, s.id),
  ]);
  return {
    ...base(s, owners, counts.get(s.id)),
    settings: s.settings,
    steps: steps.map((st) => ({ id: st.id, position: st.position, config: st.config })),
  };
}

export async function summaryDtos(em: EntityManager, rows: Sequence[]): Promise<SequenceSummary[]> {
  const ids = rows.map((s) => s.id);
  const owners = await ownersOf(
    em,
    rows.map((s) => s.ownerId as string | null),
  );
  const counts = await countsOf(em, ids);
  const stepCounts = ids.length
    ? ((await em.execute(
        `select sequence_id, count(*)::int as n from sequence_steps
          where tenant_id = filo_current_tenant() and sequence_id = any(?::uuid[]) and deleted_at is null
          group by sequence_id`,
        [pgArray(ids)],
      )) as { sequence_id: string; n: number }[])
    : [];
  const stepsOf = new Map(stepCounts.map((r) => [r.sequence_id, r.n]));
  return rows.map((s) => ({ ...base(s, owners, counts.get(s.id)), stepCount: stepsOf.get(s.id) ?? 0 }));
}
