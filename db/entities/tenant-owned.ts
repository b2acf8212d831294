import { p } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { TenantSchema } from './tenant.entity.ts';
import { UserSchema } from './user.entity.ts';

/** Columns every tenant-owned row has; row-level security keys on `tenant_id`. */
export const tenantOwned = {
  id: p
    .uuid()
    .primary()
    .onCreate(() => randomUUID()),
  tenantId: () =>
    p.manyToOne(TenantSchema).mapToPk().fieldName('tenant_id').deleteRule('cascade').updateRule('cascade'),
  createdAt: p
    .datetime()
    .onCreate(() => new Date())
    .defaultRaw('now()'),
};

/** A user reference that survives the user's removal (the row keeps its history, the link is cleared). */
export const userRef = (field: string) =>
  p.manyToOne(UserSchema).mapToPk().fieldName(field).nullable().deleteRule('set null').updateRule('cascade');

export const timestamps = {
  updatedAt: p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date())
    .defaultRaw('now()'),
  /** Bumped on every write; clients use it to order `record:updated` events and detect stale edits. */
  version: p.integer().default(1),
};

/**
 * The same column as `timestamps.version`, managed by the ORM: every flush writes `version = version + 1 where
 * version = <the loaded one>`, so a write made on a stale copy fails (OptimisticLockError) instead of overwriting.
 */
export const versioned = () => p.integer().default(1).version();
