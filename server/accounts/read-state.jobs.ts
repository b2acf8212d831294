import type { PgBoss } from 'pg-boss';
import type { MikroORM } from '../../db/orm.ts';
import { EmailAccountSchema } from '../../db/entities/email-account.entity.ts';
import { EmailAccountFolderSchema } from '../../db/entities/email-account-folder.entity.ts';
import type { DomainJobs } from '../jobs/queue.ts';
import type { Logger } from '../logger.ts';
import { inTenant, systemActor } from '../tenancy.ts';
import { openImap, type ConnectDeps } from './connect.ts';

/** Sets `\Seen` at the provider on messages a member read in Filo (accounts that mirror read state only). */
export const MARK_SEEN_QUEUE = 'accounts.mark-seen';

export interface MarkSeenJob {
  tenantId: string;
  accountId: string;
  folderId: string;
  /** The folder's UIDVALIDITY when the UIDs were read: after a change they name other messages. */
  uidValidity: number;
  uids: number[];
}

export type MarkSeenOutcome = 'marked' | 'mirror_off' | 'uidvalidity_changed' | 'gone';

/** The one place Filo changes a flag at a provider, and only when the account says so. */
export class ReadStateMirror {
  readonly #orm: MikroORM;
  readonly #connect: ConnectDeps;

  constructor(orm: MikroORM, connect: ConnectDeps) {
    this.#orm = orm;
    this.#connect = connect;
  }

  async markSeen(job: MarkSeenJob): Promise<MarkSeenOutcome> {
    const actor = systemActor(job.tenantId, 'Filo mail');
    const found = await inTenant(this.#orm, actor, async ({ em }) => ({
      account: await em.findOne(EmailAccountSchema, { id: job.accountId }),
      folder: await em.findOne(EmailAccountFolderSchema, { id: job.folderId, accountId: job.accountId }),
    }));
    const { account, folder } = found;
    if (!account || !folder || !job.uids.length) return 'gone';
    // checked again here: the switch may have been turned off since the job was queued
    if (!account.mirrorReadState) return 'mirror_off';
    const client = await openImap(account, this.#connect);
    try {
      const lock = await client.getMailboxLock(folder.path);
      try {
        const mailbox = client.mailbox;
        if (!mailbox || Number(mailbox.uidValidity) !== job.uidValidity) return 'uidvalidity_changed';
        await client.messageFlagsAdd(job.uids.join(','), ['\\Seen'], { uid: true });
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => client.close());
    }
    await inTenant(this.#orm, actor, ({ em }) =>
      em.execute(
        `update inbound_messages set imap_flags = array_append(coalesce(imap_flags, '{}'), '\\Seen')
          where tenant_id = ? and folder_id = ? and imap_uid_validity = ? and imap_uid = any(?::bigint[])
            and not ('\\Seen' = any(coalesce(imap_flags, '{}')))`,
        [job.tenantId, job.folderId, job.uidValidity, `{${job.uids.join(',')}}`],
      ),
    );
    return 'marked';
  }
}

/** The read-state mirror's queue: a provider that is down is tried again with backoff, then given up. */
export function readStateJobs(deps: { readState: Pick<ReadStateMirror, 'markSeen'> }): DomainJobs {
  return {
    async queues(boss: PgBoss) {
      await boss.createQueue(MARK_SEEN_QUEUE, { retryLimit: 5, retryDelay: 30, retryBackoff: true, notify: true });
    },
    async work(boss: PgBoss, log: Logger) {
      await boss.work<MarkSeenJob>(
        MARK_SEEN_QUEUE,
        { batchSize: 1, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 2 },
        async ([job]) => {
          const outcome = await deps.readState.markSeen(job!.data);
          log.debug({ accountId: job!.data.accountId, outcome }, 'read state mirrored');
          return { outcome };
        },
      );
    },
  };
}
