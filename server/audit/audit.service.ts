import { createHash } from 'node:crypto';
import type { AuditEntry, AuditQuery } from '#contracts/audit';
import type { MikroORM } from '../../db/orm.ts';
import type { Logger } from '../logger.ts';
import { inTenant, requireRole, systemActor, type Actor } from '../tenancy.ts';
import { audit, type AuditInput } from './record.ts';
import { HttpError } from '../http/errors.ts';
import { verifyChain, type ChainReport } from './verify.ts';

interface EntryRow {
  id: string;
  seq: string;
  at: Date | string;
  actor_id: string | null;
  actor_name: string | null;
  actor_kind: AuditEntry['actorKind'];
  ip: string | null;
  user_agent: string | null;
  action: AuditEntry['action'];
  target_type: string | null;
  target_id: string | null;
  summary: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** Who signed in, and in which workspace: what a sign-in entry needs. */
interface Signed {
  user: { id: string; email: string };
  tenant: { id: string };
}

const DEFAULT_LIMIT = 50;
// `token.used` is written at most once a day per token: this remembers which tokens this process already wrote today.
const usedToday = new Map<string, string>();

/**
 * The audit log (issue 21): writes that have no transaction of their own (sign-ins, sign-outs, exports), the admins'
 * reads with keyset pages, and the chain's verification. Services that change something call `audit(uow, ...)`
 * (record.ts) inside their own transaction instead.
 */
export class AuditService {
  readonly #orm: MikroORM;
  readonly #log: Logger;

  constructor(orm: MikroORM, log: Logger) {
    this.#orm = orm;
    this.#log = log;
  }

  /** One entry in its own transaction, for actions that have none (a sign-in, an export). */
  log(actor: Actor, input: AuditInput): Promise<void> {
    return inTenant(this.#orm, actor, (uow) => audit(uow, input));
  }

  signedIn(auth: Signed): Promise<void> {
    return this.log(probe(auth.tenant.id, auth.user.id), {
      action: 'auth.sign_in',
      targetType: 'user',
      targetId: auth.user.id,
      summary: `Signed in as ${auth.user.email}`,
      actorKind: 'user',
    });
  }

  /** Passes a failed sign-in's error on, after writing it down when it was a wrong password. */
  async refusedSignIn(err: unknown, email: string, workspace: string | undefined): Promise<never> {
    if (err instanceof HttpError && err.code === 'invalid_credentials') await this.signInFailed(email, workspace);
    throw err;
  }

  signedOut(auth: Signed): Promise<void> {
    return this.log(probe(auth.tenant.id, auth.user.id), {
      action: 'auth.sign_out',
      targetType: 'user',
      targetId: auth.user.id,
      summary: `Signed out (${auth.user.email})`,
      actorKind: 'user',
    });
  }

  /** Written in the workspace the user acted from (a password is the user's, in every workspace). */
  passwordChanged(auth: Signed, action: 'auth.password_changed' | 'auth.password_reset'): Promise<void> {
    const how = action === 'auth.password_reset' ? 'reset by an emailed link' : 'changed';
    return this.log(probe(auth.tenant.id, auth.user.id), {
      action,
      targetType: 'user',
      targetId: auth.user.id,
      summary: `Password ${how} (${auth.user.email}); the user's other sessions ended`,
      actorKind: 'user',
    });
  }

  /**
   * A refused password for an existing account is written to that account's workspaces, with the address as its
   * members know it; an address with no account belongs to no workspace and only reaches the server log, hashed
   * (what is typed there is sometimes a password).
   */
  async signInFailed(email: string, workspace: string | undefined): Promise<void> {
    const rows = await this.#orm.em
      .getConnection()
      .execute<{ user_id: string; tenant_id: string | null }[]>(`select * from filo_login_lookup(?, ?)`, [
        email,
        workspace ?? null,
      ]);
    const row = rows[0];
    if (!row?.tenant_id) {
      const hashed = createHash('sha256').update(email).digest('hex').slice(0, 16);
      this.#log.info({ email: hashed }, 'sign-in refused for an address with no account');
      return;
    }
    await this.log(probe(row.tenant_id, row.user_id), {
      action: 'auth.sign_in_failed',
      targetType: 'user',
      targetId: row.user_id,
      summary: `Sign-in refused for ${email}: wrong password`,
      actorId: null,
      actorKind: 'user',
    });
  }

  /** A token's first use of the day (UTC) is written, never one entry per request. */
  async tokenUsed(tenantId: string, tokenId: string, userId: string): Promise<void> {
    const today = new Date().toISOString().slice(0, 10);
    if (usedToday.get(tokenId) === today) return;
    usedToday.set(tokenId, today);
    await inTenant(this.#orm, probe(tenantId, userId), async (uow) => {
      const seen = await uow.em.execute(
        `select 1 from audit_entries where tenant_id = ? and target_id = ? and action = 'token.used' and at >= ?::date`,
        [tenantId, tokenId, today],
      );
      if (seen.length) return;
      await audit(uow, {
        action: 'token.used',
        targetType: 'api_token',
        targetId: tokenId,
        summary: 'API token used (first use today)',
        actorKind: 'token',
      });
    });
  }

  /** Filo's own work in a workspace (the retention job). */
  system(tenantId: string, input: AuditInput): Promise<void> {
    return this.log(systemActor(tenantId), input);
  }

  /** Newest first, filtered; `cursor` is the seq to continue below. Owners and admins only. */
  list(actor: Actor, q: AuditQuery): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
    requireRole(actor, 'owner', 'admin');
    const limit = q.limit ?? DEFAULT_LIMIT;
    return inTenant(this.#orm, actor, async ({ em }) => {
      const where = ['e.tenant_id = ?'];
      const params: unknown[] = [actor.tenantId];
      const add = (sql: string, value: unknown) => {
        where.push(sql);
        params.push(value);
      };
      if (q.action) add('e.action = ?', q.action);
      if (q.actor) add('e.actor_id = ?', q.actor);
      if (q.target) add('e.target_id = ?', q.target);
      if (q.from) add('e.at >= ?::timestamptz', q.from);
      // A bare date as the end includes that whole day.
      if (q.to) add(q.to.length === 10 ? 'e.at < ?::date + 1' : 'e.at <= ?::timestamptz', q.to);
      if (q.cursor) add('e.seq < ?', q.cursor);
      const rows = (await em.execute(
        `select e.*, u.name as actor_name from audit_entries e left join users u on u.id = e.actor_id
          where ${where.join(' and ')} order by e.seq desc limit ${limit + 1}`,
        params,
      )) as EntryRow[];
      const more = rows.length > limit;
      const items = rows.slice(0, limit).map(mapEntry);
      return { items, nextCursor: more ? String(items.at(-1)!.seq) : null };
    });
  }

  /** Every entry matching the filters, oldest of each page last, a page at a time (never the whole log in memory). */
  async *all(actor: Actor, q: AuditQuery): AsyncGenerator<AuditEntry> {
    let cursor: string | undefined = q.cursor;
    for (;;) {
      const page = await this.list(actor, { ...q, cursor, limit: 200 });
      yield* page.items;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }

  /** Checks this workspace's chain (as the application role, under row-level security). */
  verify(actor: Actor): Promise<ChainReport> {
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, ({ em }) =>
      verifyChain((sql, params) => em.execute(sql, params) as Promise<Record<string, unknown>[]>, actor.tenantId),
    );
  }
}

/** An actor for writing in a workspace on a user's behalf before any session exists. */
const probe = (tenantId: string, userId: string): Actor => ({
  tenantId,
  userId,
  userName: '',
  role: 'member',
  scope: 'full',
});

function mapEntry(r: EntryRow): AuditEntry {
  return {
    id: r.id,
    seq: Number(r.seq),
    at: new Date(r.at).toISOString(),
    actorId: r.actor_id,
    actorName: r.actor_name,
    actorKind: r.actor_kind,
    ip: r.ip,
    userAgent: r.user_agent,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    summary: r.summary,
    before: r.before,
    after: r.after,
  };
}
