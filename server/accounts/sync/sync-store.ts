import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { FolderRole } from '#contracts/accounts';
import { INBOUND_QUEUE, type InboundJob } from '../../../mail-gateway/inbound-store.ts';

/** Where a folder's sync stands, as stored in email_account_folders. */
export interface FolderState {
  id: string;
  path: string;
  role: FolderRole | null;
  synced: boolean;
  uidValidity: number | null;
  /** A decimal string: HIGHESTMODSEQ can exceed 2^53. */
  highestModseq: string | null;
  uidNext: number | null;
  initialDone: boolean;
}

/** What an account's sync needs to know about it (the row, as the schema owner reads it). */
export interface SyncAccount {
  id: string;
  tenantId: string;
  mailboxId: string;
  email: string;
  syncDays: number;
}

/** One fetched message, its body already in the spool (or not, when larger than the limit). */
export interface FetchedRow {
  uid: number;
  flags: string[];
  modseq: string | null;
  messageId: string | null;
  size: number;
  sha256: string | null;
  spoolKey: string | null;
  mailFrom: string | null;
  rcptTo: string[];
  /** Why it was not stored (too large): the row is kept as failed, with no job. */
  error?: string;
}

export interface FlagChange {
  uid: number;
  flags: string[];
  modseq: string | null;
}

/** A message as its headers say, to match the rows of a folder whose UIDVALIDITY changed. */
export interface HeaderRow {
  uid: number;
  messageId: string | null;
  size: number;
  flags: string[];
  modseq: string | null;
}

interface FolderRow {
  id: string;
  path: string;
  special_use: string | null;
  synced: boolean;
  uid_validity: string | null;
  highest_modseq: string | null;
  uid_next: string | null;
  initial_done: boolean;
}

const folderState = (r: FolderRow): FolderState => ({
  id: r.id,
  path: r.path,
  role: (r.special_use as FolderRole | null) ?? null,
  synced: r.synced,
  uidValidity: r.uid_validity === null ? null : Number(r.uid_validity),
  highestModseq: r.highest_modseq,
  uidNext: r.uid_next === null ? null : Number(r.uid_next),
  initialDone: r.initial_done,
});

/** pg-boss priority of the processing jobs of an initial sync: below new mail's 0, so a big first sync never delays it. */
export const BACKLOG_PRIORITY = -10;

/**
 * The sync's database side, as the schema owner (like the gateway's InboundStore: pg-boss's job table is not the
 * application role's), each transaction under the account's tenant for row-level security. A chunk of fetched
 * messages is one transaction: its rows (a multi-row insert that skips UIDs already stored) and their jobs.
 */
export class SyncStore {
  readonly #pool: pg.Pool;
  readonly #boss: PgBoss;

  constructor(databaseUrl: string, boss: PgBoss, max = 4) {
    this.#pool = new pg.Pool({ connectionString: databaseUrl, max, application_name: 'filo-sync' });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.#pool.on('error', () => {});
    this.#boss = boss;
  }

  async #tx<T>(tenantId: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** Every account across workspaces, with a fingerprint of how it is reached (a change restarts its sync). */
  async accounts(): Promise<{ id: string; tenantId: string; enabled: boolean; fingerprint: string }[]> {
    const { rows } = await this.#pool.query<{ id: string; tenant_id: string; enabled: boolean; fp: string }>(
      `select id, tenant_id, enabled,
              md5(concat_ws('|', imap_host, imap_port, imap_security, imap_user, imap_password_enc, auth_method,
                            oauth_refresh_token_enc, sync_days)) as fp
         from email_accounts`,
    );
    return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, enabled: r.enabled, fingerprint: r.fp }));
  }

  async account(id: string): Promise<SyncAccount | null> {
    const { rows } = await this.#pool.query<{
      id: string;
      tenant_id: string;
      mailbox_id: string;
      email: string;
      sync_days: number;
    }>(`select id, tenant_id, mailbox_id, email, sync_days from email_accounts where id = $1`, [id]);
    const r = rows[0];
    return r
      ? { id: r.id, tenantId: r.tenant_id, mailboxId: r.mailbox_id, email: r.email, syncDays: r.sync_days }
      : null;
  }

  /** The account row as connect.ts reads it (camelCase), or null when it is gone. */
  async connection(id: string): Promise<Record<string, unknown> | null> {
    const { rows } = await this.#pool.query<Record<string, unknown>>(
      `select id, tenant_id as "tenantId", email, auth_method as "authMethod", provider, imap_host as "imapHost",
              imap_port as "imapPort", imap_security as "imapSecurity", imap_user as "imapUser",
              imap_password_enc as "imapPasswordEnc", smtp_host as "smtpHost", smtp_port as "smtpPort",
              smtp_security as "smtpSecurity", smtp_user as "smtpUser", smtp_password_enc as "smtpPasswordEnc",
              oauth_access_token_enc as "oauthAccessTokenEnc", oauth_refresh_token_enc as "oauthRefreshTokenEnc",
              oauth_expires_at as "oauthExpiresAt"
         from email_accounts where id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Records the folders the server listed (keeping whether each is synced, once chosen); returns them all. */
  async upsertFolders(
    account: SyncAccount,
    folders: { path: string; role: FolderRole | null; synced: boolean }[],
  ): Promise<FolderState[]> {
    if (folders.length === 0) return [];
    return this.#tx(account.tenantId, async (c) => {
      const { rows } = await c.query<FolderRow>(
        `insert into email_account_folders (id, tenant_id, account_id, path, special_use, synced)
         select gen_random_uuid(), $1, $2, x.path, x.role, x.synced
           from json_to_recordset($3::json) as x(path text, role text, synced boolean)
         on conflict (tenant_id, account_id, path) do update set special_use = excluded.special_use
         returning id, path, special_use, synced, uid_validity, highest_modseq, uid_next, initial_done`,
        [account.tenantId, account.id, JSON.stringify(folders)],
      );
      return rows.map(folderState);
    });
  }

  async saveFolder(
    account: SyncAccount,
    folder: FolderState,
    patch: { messages?: number; lastSynced?: boolean } = {},
  ): Promise<void> {
    await this.#tx(account.tenantId, (c) =>
      c.query(
        `update email_account_folders set uid_validity = $2, highest_modseq = $3, uid_next = $4, initial_done = $5,
                messages = coalesce($6, messages), last_synced_at = case when $7 then now() else last_synced_at end,
                updated_at = now()
          where id = $1`,
        [
          folder.id,
          folder.uidValidity,
          folder.highestModseq,
          folder.uidNext,
          folder.initialDone,
          patch.messages ?? null,
          patch.lastSynced ?? false,
        ],
      ),
    );
  }

  /** Of these UIDs, those already stored for the folder under this UIDVALIDITY. */
  async storedUids(account: SyncAccount, folderId: string, uidValidity: number, uids: number[]): Promise<Set<number>> {
    if (uids.length === 0) return new Set();
    return this.#tx(account.tenantId, async (c) => {
      const { rows } = await c.query<{ uid: string }>(
        `select imap_uid as uid from inbound_messages
          where folder_id = $1 and imap_uid_validity = $2 and imap_uid = any($3::bigint[])`,
        [folderId, uidValidity, uids],
      );
      return new Set(rows.map((r) => Number(r.uid)));
    });
  }

  /**
   * One chunk in one transaction: the rows (a UID already stored is skipped by the unique index) and a processing
   * job per new row with a body. Returns the spool keys of the messages that were already there (to remove).
   */
  async insert(
    account: SyncAccount,
    folderId: string,
    uidValidity: number,
    messages: FetchedRow[],
    opts: { backlog?: boolean; reattach?: boolean } = {},
  ): Promise<{ inserted: number; duplicateKeys: string[]; left?: number }> {
    if (messages.length === 0) return { inserted: 0, duplicateKeys: [] };
    const rows = messages.map((m) => ({
      id: randomUUID(),
      tenant_id: account.tenantId,
      mailbox_id: account.mailboxId,
      account_id: account.id,
      folder_id: folderId,
      imap_uid_validity: uidValidity,
      imap_uid: m.uid,
      imap_flags: m.flags,
      imap_modseq: m.modseq,
      message_id_header: m.messageId,
      size: m.size,
      sha256: m.sha256,
      spool_key: m.spoolKey,
      mail_from: m.mailFrom,
      rcpt_to: m.rcptTo,
      status: m.spoolKey ? 'received' : 'failed',
      error: m.error ?? null,
    }));
    return this.#tx(account.tenantId, async (c) => {
      // Rows a rebase left unmatched take back their messages (then skipped below as stored, their files removed).
      const left = opts.reattach
        ? (await reattach(c, folderId, uidValidity, messages, { markGone: false })).left
        : undefined;
      const { rows: inserted } = await c.query<{ id: string }>(
        `insert into inbound_messages (id, tenant_id, mailbox_id, account_id, folder_id, imap_uid_validity, imap_uid,
           imap_flags, imap_modseq, message_id_header, size, sha256, spool_key, mail_from, rcpt_to, status, error)
         select * from json_to_recordset($1::json) as x(id uuid, tenant_id uuid, mailbox_id uuid, account_id uuid,
           folder_id uuid, imap_uid_validity bigint, imap_uid bigint, imap_flags text[], imap_modseq bigint,
           message_id_header varchar, size int, sha256 varchar, spool_key text, mail_from varchar, rcpt_to text[],
           status text, error text)
         on conflict (folder_id, imap_uid_validity, imap_uid) where folder_id is not null do nothing
         returning id`,
        [JSON.stringify(rows)],
      );
      const kept = new Set(inserted.map((r) => r.id));
      const jobs: { data: InboundJob }[] = rows
        .filter((r) => kept.has(r.id) && r.spool_key)
        .map((r) => ({
          data: { inboundId: r.id, tenantId: account.tenantId },
          // an initial sync's backlog waits behind live mail (the gateway's and new IMAP mail, priority 0)
          ...(opts.backlog ? { priority: BACKLOG_PRIORITY } : {}),
        }));
      if (jobs.length)
        await this.#boss.insert(INBOUND_QUEUE, jobs, {
          db: { executeSql: (text, values) => c.query(text, values) },
        });
      const duplicateKeys = rows.filter((r) => !kept.has(r.id) && r.spool_key).map((r) => r.spool_key!);
      return { inserted: kept.size, duplicateKeys, left };
    });
  }

  /** Flags (and modseq) another client changed; the bodies stay as they are. Returns the rows updated. */
  async updateFlags(account: SyncAccount, folderId: string, uidValidity: number, changes: FlagChange[]) {
    if (changes.length === 0) return 0;
    return this.#tx(account.tenantId, async (c) => {
      const { rowCount } = await c.query(
        `update inbound_messages i set imap_flags = x.flags, imap_modseq = x.modseq
           from json_to_recordset($3::json) as x(uid bigint, flags text[], modseq bigint)
          where i.folder_id = $1 and i.imap_uid_validity = $2 and i.imap_uid = x.uid
            and (i.imap_flags is distinct from x.flags or i.imap_modseq is distinct from x.modseq)`,
        [folderId, uidValidity, JSON.stringify(changes)],
      );
      return rowCount ?? 0;
    });
  }

  /** Messages another client expunged (VANISHED): the rows say when, and keep what Filo already made of them. */
  async markExpunged(account: SyncAccount, folderId: string, uidValidity: number, uids: number[]) {
    if (uids.length === 0) return 0;
    return this.#tx(account.tenantId, async (c) => {
      const { rowCount } = await c.query(
        `update inbound_messages set imap_expunged_at = now()
          where folder_id = $1 and imap_uid_validity = $2 and imap_uid = any($3::bigint[]) and imap_expunged_at is null`,
        [folderId, uidValidity, uids],
      );
      return rowCount ?? 0;
    });
  }

  async expungeAll(account: SyncAccount, folderId: string, uidValidity: number): Promise<void> {
    await this.#tx(account.tenantId, (c) =>
      c.query(
        `update inbound_messages set imap_expunged_at = now()
          where folder_id = $1 and imap_uid_validity = $2 and imap_expunged_at is null`,
        [folderId, uidValidity],
      ),
    );
  }

  /**
   * A folder's UIDVALIDITY changed: its rows are matched to the messages now there by Message-ID (then by size)
   * and take their new UIDs; rows that match nothing are marked expunged. Nothing is imported here. `left`: the
   * rows of an earlier UIDVALIDITY still unmatched (a folder rebuilt in steps may bring them back later).
   */
  async rebase(
    account: SyncAccount,
    folderId: string,
    uidValidity: number,
    now: HeaderRow[],
  ): Promise<{ moved: number; left: number }> {
    return this.#tx(account.tenantId, (c) => reattach(c, folderId, uidValidity, now, { markGone: true }));
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}

/**
 * Rows of the folder under another UIDVALIDITY, matched to these messages by Message-ID (then, without one, by size,
 * once each, in UID order), take the messages' UIDs, flags and modseq and are no longer expunged.
 */
async function reattach(
  c: pg.PoolClient,
  folderId: string,
  uidValidity: number,
  now: HeaderRow[],
  opts: { markGone: boolean },
): Promise<{ moved: number; left: number }> {
  const { rows } = await c.query<{ id: string; message_id_header: string | null; size: number }>(
    `select id, message_id_header, size from inbound_messages
      where folder_id = $1 and imap_uid_validity is distinct from $2
      order by imap_uid for update`,
    [folderId, uidValidity],
  );
  const byMessageId = new Map<string, (typeof rows)[number][]>();
  for (const r of rows)
    if (r.message_id_header) byMessageId.set(r.message_id_header, [...(byMessageId.get(r.message_id_header) ?? []), r]);
  const used = new Set<string>();
  const moves: { id: string; uid: number; flags: string[]; modseq: string | null }[] = [];
  const unmatched: HeaderRow[] = [];
  for (const h of now) {
    const row = h.messageId ? byMessageId.get(h.messageId)?.find((r) => !used.has(r.id)) : undefined;
    if (row) {
      used.add(row.id);
      moves.push({ id: row.id, uid: h.uid, flags: h.flags, modseq: h.modseq });
    } else unmatched.push(h);
  }
  for (const h of unmatched) {
    const row = rows.find((r) => !used.has(r.id) && !r.message_id_header && !h.messageId && r.size === h.size);
    if (!row) continue;
    used.add(row.id);
    moves.push({ id: row.id, uid: h.uid, flags: h.flags, modseq: h.modseq });
  }
  if (moves.length)
    await c.query(
      `update inbound_messages i set imap_uid_validity = $2, imap_uid = x.uid, imap_flags = x.flags,
              imap_modseq = x.modseq, imap_expunged_at = null
         from json_to_recordset($3::json) as x(id uuid, uid bigint, flags text[], modseq bigint)
        where i.folder_id = $1 and i.id = x.id`,
      [folderId, uidValidity, JSON.stringify(moves)],
    );
  const gone = rows.filter((r) => !used.has(r.id)).map((r) => r.id);
  if (gone.length && opts.markGone)
    await c.query(
      `update inbound_messages set imap_expunged_at = coalesce(imap_expunged_at, now()) where id = any($1::uuid[])`,
      [gone],
    );
  return { moved: moves.length, left: gone.length };
}
