import type { EntityManager } from '@mikro-orm/postgresql';
import type { TokenGrant } from '#contracts/auth';
import type { MikroORM } from '../db/orm.ts';
import type { MemberRole } from '../db/entities/membership.entity.ts';
import { HttpError } from './http/errors.ts';

/** Who is acting: a signed-in member, or an API token acting for the member who created it. */
export interface Actor {
  tenantId: string;
  userId: string;
  userName: string;
  role: MemberRole;
  /** `read` tokens (wall screens) may not write. */
  scope: 'full' | 'read';
  /** A scoped token's grants (server/auth/scopes.ts reads them); absent: every family, as `scope` says. */
  grants?: readonly TokenGrant[];
  /** Filo itself (inbound mail, jobs): no user is the author of what it writes. */
  system?: true;
  /** A workflow run acting: what it writes on the timeline says so, so a chain of runs stops at a depth limit. */
  workflow?: { runId: string; depth: number };
}

/** The actor for work Filo does on its own in a workspace (processing inbound mail, scheduled jobs). */
export function systemActor(tenantId: string, name = 'Filo'): Actor {
  return {
    tenantId,
    userId: '00000000-0000-0000-0000-000000000000',
    userName: name,
    role: 'admin',
    scope: 'full',
    system: true,
  };
}

/** The user to record as author, or null when Filo acted on its own. */
export const authorOf = (actor: Actor): string | null => (actor.system ? null : actor.userId);

export interface UnitOfWork {
  em: EntityManager;
  actor: Actor;
  /** Runs `fn` once the transaction has committed (never if it rolls back): where events are published. */
  afterCommit(fn: () => void): void;
}

/**
 * Every tenant-owned read and write runs here: one transaction with `app.tenant_id` set for PostgreSQL's
 * row-level security, and the ORM's `tenant` filter on, so isolation holds in the database and in the code.
 */
export async function inTenant<T>(orm: MikroORM, actor: Actor, fn: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  const em = orm.em.fork({ clear: true }) as EntityManager;
  em.setFilterParams('tenant', { tenantId: actor.tenantId });
  const after: (() => void)[] = [];
  const result = await em.transactional(async (tx) => {
    await tx.execute(`select set_config('app.tenant_id', ?, true)`, [actor.tenantId]);
    return fn({ em: tx as EntityManager, actor, afterCommit: (f) => after.push(f) });
  });
  for (const f of after) f();
  return result;
}

export function requireWrite(actor: Actor): void {
  if (actor.scope !== 'full') throw new HttpError(403, 'read_only_token', 'This API token can only read');
}

export function requireRole(actor: Actor, ...roles: MemberRole[]): void {
  if (!roles.includes(actor.role)) throw new HttpError(403, 'forbidden', `Only ${roles.join(' or ')} can do this`);
}
