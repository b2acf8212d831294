import type { MikroORM } from '../../db/orm.ts';
import type { AccountHealth, AccountStatus } from '#contracts/accounts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { inTenant, systemActor, type UnitOfWork } from '../tenancy.ts';

/**
 * What changed about an account's health. A failure is `{ status: 'error', lastError }` with the server's own
 * words (`authFailed` when the credentials were refused); any other status is a success and clears the error.
 */
export interface HealthPatch {
  status?: AccountStatus;
  syncDone?: number;
  syncTotal?: number;
  lastError?: string | null;
  /** The server refused the credentials (LOGIN/AUTHENTICATE, a revoked token): the owner is told once. */
  authFailed?: boolean;
  lastSyncAt?: Date;
  connectedAt?: Date | null;
  /**
   * Which side this is about: `imap` (reading, the default), `smtp` (sending), or `all` (the account was reset:
   * resumed, new credentials). A success clears only its own side's error: a working sync never hides a refused
   * SMTP login, and the account stays `error` while the other side fails.
   */
  side?: 'imap' | 'smtp' | 'all';
  /** This side worked (a message sent): clears its error without saying anything else. */
  ok?: boolean;
}

interface HealthRow {
  id: string;
  tenant_id: string;
  mailbox_id: string;
  owner_id: string | null;
  email: string;
  status: AccountStatus;
  sync_done: number;
  sync_total: number;
  last_error: string | null;
  last_error_at: Date | null;
  last_sync_at: Date | null;
  prev_status: AccountStatus;
  prev_error: string | null;
}

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

export const healthOf = (
  r: Pick<HealthRow, 'id' | 'status' | 'sync_done' | 'sync_total' | 'last_error'> &
    Pick<HealthRow, 'last_error_at' | 'last_sync_at'>,
): AccountHealth => ({
  accountId: r.id,
  status: r.status,
  syncDone: r.sync_done,
  syncTotal: r.sync_total,
  lastError: r.last_error,
  lastErrorAt: iso(r.last_error_at),
  lastSyncAt: iso(r.last_sync_at),
});

/** Longest stored error text: servers can answer at length, the settings page shows a line. */
const MAX_ERROR = 2000;

/**
 * The one writer of an account's health (status, sync progress, last error, last sync). After commit it goes to
 * the sockets of everyone who sees the account's mailbox (`account:health`); a refused login notifies the owner.
 * Status never says `connected` while failing: an error always sets `error`, a success clears its own side's error
 * (reading or sending) and the account stays `error` while the other side's stands.
 */
export class AccountHealthService {
  readonly #orm: MikroORM;
  readonly #publisher: Publisher;
  readonly #notifications: NotificationsService;

  constructor(orm: MikroORM, publisher: Publisher, notifications: NotificationsService) {
    this.#orm = orm;
    this.#publisher = publisher;
    this.#notifications = notifications;
  }

  /**
   * Inside the caller's transaction, or (given the account's tenant id) in one of its own as Filo. Returns the
   * health as written, or null when the account is gone. A paused account stays `paused` whatever a late sync says.
   */
  async setHealth(target: UnitOfWork | string, accountId: string, patch: HealthPatch): Promise<AccountHealth | null> {
    if (typeof target === 'string')
      return inTenant(this.#orm, systemActor(target), (uow) => this.setHealth(uow, accountId, patch));
    const failing = patch.status === 'error' || (patch.lastError !== undefined && patch.lastError !== null);
    const error = failing ? (patch.lastError ?? 'Unknown error').slice(0, MAX_ERROR) : null;
    const side = patch.side ?? 'imap';
    const clears = !failing && (patch.status !== undefined || patch.ok === true);
    const [row] = (await target.em.execute(
      `update email_accounts a set
          status = case when not a.enabled and ?::text is distinct from 'paused' then 'paused'
                        when ?::boolean then 'error'
                        when ?::boolean and not old.owns then 'error'
                        when ?::text is not null then ?::text
                        when ?::boolean and a.status = 'error' then 'connected'
                        else a.status end,
          sync_done = coalesce(?::int, a.sync_done),
          sync_total = coalesce(?::int, a.sync_total),
          last_error = case when ?::boolean then ?::text when ?::boolean and old.owns then null else a.last_error end,
          last_error_at = case when ?::boolean then now() when ?::boolean and old.owns then null
                               else a.last_error_at end,
          last_error_side = case when ?::boolean then ?::text when ?::boolean and old.owns then null
                                 else a.last_error_side end,
          last_sync_at = coalesce(?::timestamptz, a.last_sync_at),
          connected_at = case when ?::boolean then ?::timestamptz else a.connected_at end,
          updated_at = now()
         from (select id, status, last_error,
                      (last_error is null or ?::text = 'all' or last_error_side is null or last_error_side = ?::text) as owns
                 from email_accounts where id = ? for update) old
        where a.id = old.id
        returning a.id, a.tenant_id, a.mailbox_id, a.owner_id, a.email, a.status, a.sync_done, a.sync_total,
                  a.last_error, a.last_error_at, a.last_sync_at, old.status as prev_status, old.last_error as prev_error`,
      [
        failing ? 'error' : (patch.status ?? null),
        failing,
        clears,
        patch.status ?? null,
        patch.status ?? null,
        clears,
        patch.syncDone ?? null,
        patch.syncTotal ?? null,
        failing,
        error,
        clears,
        failing,
        clears,
        failing,
        side === 'all' ? 'imap' : side,
        clears,
        patch.lastSyncAt ?? null,
        patch.connectedAt !== undefined,
        patch.connectedAt ?? null,
        side,
        side,
        accountId,
      ],
    )) as HealthRow[];
    if (!row) return null;
    const health = healthOf(row);
    const audience = await this.#audience(target, row);
    const { tenantId } = target.actor;
    target.afterCommit(() => this.#publisher.accountHealth(tenantId, audience, health));
    const newlyRefused =
      patch.authFailed && row.status === 'error' && (row.prev_status !== 'error' || row.prev_error !== error);
    if (newlyRefused && row.owner_id)
      await this.#notifications.create(target, row.owner_id, {
        type: 'account_error',
        title: `${row.email} cannot sign in: ${error ?? ''}`,
        data: { email: row.email, error: error ?? '' },
        entityType: 'email_account',
        entityId: row.id,
      });
    return health;
  }

  /** The account's owner and the members who see its mailbox (a private one: only those it names). */
  async #audience(uow: UnitOfWork, row: HealthRow): Promise<string[]> {
    const rows = (await uow.em.execute(
      `select ms.user_id::text as id from memberships ms join mailboxes m on m.id = ?
        where ms.tenant_id = ?
          and (ms.user_id = ?::uuid or ms.user_id::text = any(m.member_ids)
               or (not m.private and (ms.role <> 'member' or cardinality(m.member_ids) = 0)))`,
      [row.mailbox_id, uow.actor.tenantId, row.owner_id],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }
}
