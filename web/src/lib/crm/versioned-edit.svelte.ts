import type { VersionConflict } from '#contracts/common';
import { ApiError } from '#lib/api.ts';

/** The 409 `version_conflict` of an edit made on a stale copy, or null for any other failure. */
export function conflictOf<T>(err: unknown): VersionConflict<T> | null {
  if (!(err instanceof ApiError) || err.status !== 409 || err.code !== 'version_conflict' || !err.body) return null;
  return err.body as unknown as VersionConflict<T>;
}

/**
 * One edit of a versioned record (company, contact, deal, note): saves send the version the edit started from; a
 * 409 keeps the user's changes aside with the record as it is now, to reapply on top of it or to discard.
 */
export class VersionedEdit<T extends { version: number }> {
  /** The copy the form shows and diffs against: as loaded, as heard live while untouched, or as found on a conflict. */
  base = $state.raw<T>() as T;
  conflict = $state.raw<VersionConflict<T> | null>(null);
  /** The changes refused by the conflict, to reapply. */
  #pending: Record<string, unknown> = {};

  constructor(record: T) {
    this.base = record;
  }

  /** Sends `changes` made on the base; null when they were refused as stale (see `conflict`). */
  async save(
    changes: Record<string, unknown>,
    update: (body: Record<string, unknown>) => Promise<T>,
  ): Promise<T | null> {
    try {
      const saved = await update({ ...changes, version: this.base.version });
      this.base = saved;
      this.conflict = null;
      return saved;
    } catch (err) {
      const conflict = conflictOf<T>(err);
      if (!conflict) throw err;
      this.#pending = changes;
      this.conflict = conflict;
      return null;
    }
  }

  /** The refused changes again, on top of the current record. */
  reapply(update: (body: Record<string, unknown>) => Promise<T>): Promise<T | null> {
    if (this.conflict) this.base = this.conflict.current;
    return this.save(this.#pending, update);
  }

  /** Drops the refused changes: the current record becomes the base (the form reloads it). */
  discard(): T {
    if (this.conflict) this.base = this.conflict.current;
    this.conflict = null;
    this.#pending = {};
    return this.base;
  }

  /** A newer copy heard live becomes the base while the user has not changed anything; true when it did. */
  follow(record: T | undefined, untouched: boolean): boolean {
    if (!record || record.version <= this.base.version || !untouched || this.conflict) return false;
    this.base = record;
    return true;
  }
}
