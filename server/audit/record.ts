import { randomUUID } from 'node:crypto';
import type { AuditAction, ActorKind } from '#contracts/audit';
import type { Actor } from '../tenancy.ts';
import { entryHash } from './chain.ts';
import { currentOrigin } from './context.ts';

/** What a service says happened; who and from where come from the unit of work and the request. */
export interface AuditInput {
  action: AuditAction;
  targetType?: string | null;
  targetId?: string | null;
  summary: string;
  /** The target as it was and as it is (a DTO: never a secret; keys that name one are masked anyway). */
  before?: object | null;
  after?: object | null;
  /** Overrides the unit of work's actor (a failed sign-in has none, a sign-in acts before any session exists). */
  actorId?: string | null;
  actorKind?: ActorKind;
}

interface Executor {
  execute(sql: string, params?: unknown[]): Promise<unknown>;
}

// Values under these keys never reach the log: the entry says that a secret changed, not what it is.
const SECRET_KEY = /pass|secret|token|credential|private|apikey|api_key|auth/i;
export const MASK = '••••';

function masked(value: object | null | undefined): Record<string, unknown> | null {
  if (!value) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (SECRET_KEY.test(k) && v !== null && v !== '') out[k] = MASK;
    else if (v instanceof Date) out[k] = v.toISOString();
    else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = masked(v);
    else out[k] = v;
  }
  return out;
}

// A settings change shows the fields that changed, not the whole form twice.
function changed(
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): [Record<string, unknown> | null, Record<string, unknown> | null] {
  if (!before || !after) return [before, after];
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[k] ?? null) === JSON.stringify(after[k] ?? null)) continue;
    b[k] = before[k] ?? null;
    a[k] = after[k] ?? null;
  }
  return [b, a];
}

/**
 * Appends one entry to the workspace's chain, in the caller's transaction (it commits or rolls back with the
 * action). The chain's head row is locked first, so concurrent writers of a workspace queue instead of forking it.
 */
export async function audit(uow: { em: Executor; actor: Actor }, input: AuditInput): Promise<void> {
  const { em, actor } = uow;
  const origin = currentOrigin();
  const system = actor.system === true;
  const actorKind: ActorKind = input.actorKind ?? (system ? 'system' : origin?.via === 'token' ? 'token' : 'user');
  const actorId = input.actorId !== undefined ? input.actorId : system ? null : actor.userId;
  const [before, after] = changed(masked(input.before), masked(input.after));
  const [head] = (await em.execute(
    `insert into audit_chains (tenant_id) values (?)
     on conflict (tenant_id) do update set seq = audit_chains.seq returning seq, hash`,
    [actor.tenantId],
  )) as { seq: string | number; hash: string }[];
  const entry = {
    tenantId: actor.tenantId,
    seq: Number(head!.seq) + 1,
    at: new Date(),
    actorId,
    actorKind,
    ip: system ? null : (origin?.ip ?? null),
    userAgent: system ? null : (origin?.userAgent ?? null),
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    summary: input.summary.slice(0, 1000),
    before,
    after,
  };
  const hash = entryHash(head!.hash, entry);
  await em.execute(
    `insert into audit_entries (id, tenant_id, seq, at, actor_id, actor_kind, ip, user_agent, action, target_type,
       target_id, summary, before, after, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      randomUUID(),
      entry.tenantId,
      entry.seq,
      entry.at,
      entry.actorId,
      entry.actorKind,
      entry.ip,
      entry.userAgent,
      entry.action,
      entry.targetType,
      entry.targetId,
      entry.summary,
      before ? JSON.stringify(before) : null,
      after ? JSON.stringify(after) : null,
      head!.hash,
      hash,
    ],
  );
  await em.execute(`update audit_chains set seq = ?, hash = ? where tenant_id = ?`, [entry.seq, hash, actor.tenantId]);
}

const LABELS: Partial<Record<AuditAction, string>> = {
  'email_account.created': 'Email account connected',
  'email_account.updated': 'Email account changed',
  'email_account.deleted': 'Email account removed',
  'messaging_account.created': 'Messaging account added',
  'messaging_account.updated': 'Messaging account changed',
  'messaging_account.deleted': 'Messaging account removed',
  'sending_domain.added': 'Sending domain added',
  'sending_domain.removed': 'Sending domain removed',
  'workspace.updated': 'Workspace settings changed',
  'pipeline.updated': 'Pipeline stages changed',
};

/** A settings change in one short call: `audit(uow, change('email_account.updated', 'email_account', id, …))`. */
export function change(
  action: AuditAction,
  targetType: string,
  target: { id: string; name: string },
  before: object | null = null,
  after: object | null = null,
): AuditInput {
  const label = LABELS[action] ?? action;
  return { action, targetType, targetId: target.id, summary: `${label}: ${target.name}`, before, after };
}
