import type { EntityManager } from '@mikro-orm/postgresql';
import type { StorageUsage } from '#contracts/team';
import type { MikroORM } from '../../db/orm.ts';
import { HttpError } from '../http/errors.ts';
import { inTenant, type Actor } from '../tenancy.ts';

// What a workspace stores: its documents (uploads, mail attachments) and its kept meeting recordings.
const USAGE_SQL = `select (select coalesce(sum(file_size), 0) from documents where tenant_id = ?)
  + (select coalesce(sum(file_size), 0) from meeting_recordings where tenant_id = ?) as used`;

export const quotaExceeded = (usage: StorageUsage) =>
  new HttpError(
    413,
    'storage_quota_exceeded',
    `This workspace has used ${mb(usage.usedBytes)} of its ${mb(usage.limitBytes)} of storage`,
  );

const mb = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;

/**
 * Per-workspace storage quota (`STORAGE_QUOTA_MB`). Usage is the sum of the stored rows themselves, so it can
 * never drift from what is kept; a reservation is the row the caller inserts in the same transaction, and a
 * per-workspace transaction lock makes concurrent uploads take turns between the check and the commit.
 */
export class StorageQuota {
  readonly #orm: MikroORM;
  readonly limitBytes: number;

  constructor(orm: MikroORM, limitBytes: number) {
    this.#orm = orm;
    this.limitBytes = limitBytes;
  }

  /** What the workspace uses now, and its limit. */
  usage(actor: Actor): Promise<StorageUsage> {
    return inTenant(this.#orm, actor, async ({ em }) => ({
      usedBytes: await this.#used(em, actor.tenantId),
      limitBytes: this.limitBytes,
    }));
  }

  /** Bytes the workspace may still store (for a streaming upload's size cap before the file is kept). */
  async remaining(actor: Actor): Promise<number> {
    const { usedBytes } = await this.usage(actor);
    return Math.max(0, this.limitBytes - usedBytes);
  }

  /**
   * Claims `bytes` for the row about to be inserted. Call it inside the `inTenant` transaction that inserts
   * that row (documents.file_size or meeting_recordings.file_size): the lock is held until commit, and a
   * rollback releases the claim. Throws 413 `storage_quota_exceeded` when the bytes do not fit.
   */
  async reserve(tenantId: string, bytes: number, em: EntityManager): Promise<void> {
    await em.execute(`select pg_advisory_xact_lock(hashtextextended('filo.storage:' || ?::text, 0))`, [tenantId]);
    const usedBytes = await this.#used(em, tenantId);
    if (usedBytes + bytes > this.limitBytes) throw quotaExceeded({ usedBytes, limitBytes: this.limitBytes });
  }

  async #used(em: EntityManager, tenantId: string): Promise<number> {
    const [row] = (await em.execute(USAGE_SQL, [tenantId, tenantId])) as { used: string | number }[];
    return Number(row?.used ?? 0);
  }
}
