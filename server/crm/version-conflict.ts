import { OptimisticLockError } from '@mikro-orm/core';
import { ActivitySchema } from '../../db/entities/activity.entity.ts';
import { UserSchema } from '../../db/entities/user.entity.ts';
import { HttpError } from '../http/errors.ts';
import type { UnitOfWork } from '../tenancy.ts';

/** Who wrote a record last and when, as far as its timeline tells (`changedBy` null: Filo itself, or unknown). */
export interface LastChange {
  changedBy: { id: string; name: string } | null;
  changedAt: string | null;
}

/** The timeline entries that mean "this record was written": the newest one names the last writer. */
export interface ChangeTrail {
  entityType: string;
  entityId: string;
  activityTypes: string[];
  /** For a note: the activities are on the record it is on, with the note's id in their data. */
  noteId?: string;
}

/** A write made on a stale copy: the ORM's version check (on load with a given version, or at flush) refused it. */
export const isStale = (err: unknown): err is OptimisticLockError => err instanceof OptimisticLockError;

export async function lastChange({ em }: UnitOfWork, trail: ChangeTrail, fallbackAt: Date | null): Promise<LastChange> {
  const activity = await em.findOne(
    ActivitySchema,
    {
      entityType: trail.entityType,
      entityId: trail.entityId,
      activityType: { $in: trail.activityTypes },
      ...(trail.noteId ? { metadata: { noteId: trail.noteId } } : {}),
    } as never,
    { orderBy: { seq: 'desc' } },
  );
  const at = activity?.createdAt ?? fallbackAt;
  const userId = activity?.createdBy ?? null;
  const user = userId ? await em.findOne(UserSchema, { id: userId as string }, { fields: ['id', 'name'] }) : null;
  return {
    changedBy: user ? { id: user.id, name: user.name } : null,
    changedAt: at ? new Date(at).toISOString() : null,
  };
}

/**
 * The 409 for a stale edit: `{ error: { code: 'version_conflict', message, fields, current, changedBy, changedAt } }`
 * with the record as it is now, so that the client can show it and reapply its change on top.
 */
export function versionConflict(label: string, current: { version: number }, change: LastChange): HttpError {
  const by = change.changedBy?.name;
  return new HttpError(
    409,
    'version_conflict',
    `${by ? `${by} changed this ${label.toLowerCase()}` : `This ${label.toLowerCase()} was changed`} meanwhile: your edit was not saved`,
    { version: `the current version is ${current.version}` },
    { current: JSON.parse(JSON.stringify(current)) as unknown, ...change },
  );
}
