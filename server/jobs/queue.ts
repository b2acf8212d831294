import { CompiledQuery } from 'kysely';
import type { Db, PgBoss } from 'pg-boss';
import type { EntityManager } from '@mikro-orm/postgresql';
import { appRoleName } from '../../db/app-role.ts';
import type { Logger } from '../logger.ts';

export interface SendOptions {
  /** The unit of work whose transaction the job belongs to: it exists if and only if that transaction commits. */
  uow: { em: EntityManager };
  /** Seconds from now, or a moment. */
  startAfter?: number | Date;
  /** At most one waiting or running job per key in the queue (a second send is a no-op). */
  singletonKey?: string;
  /** Seconds before a failed try runs again (the queue's own setting otherwise). */
  retryDelay?: number;
}

/** The job-queue port services are built with: jobs are enqueued inside the caller's transaction, never after it. */
export interface JobQueue {
  send(queue: string, data: object, options: SendOptions): Promise<void>;
}

/** pg-boss's statements (with $1 placeholders) run on the connection of the ORM's open transaction. */
export function transactionDb(em: EntityManager): Db {
  const trx = em.getTransactionContext<{ executeQuery(q: CompiledQuery): Promise<{ rows: unknown[] }> }>();
  if (!trx) throw new Error('a job is enqueued inside a transaction: call send() within inTenant/transactional');
  return { executeSql: (text, values = []) => trx.executeQuery(CompiledQuery.raw(text, values)) };
}

/**
 * The port, filled in once pg-boss has started in this process (services are built before it). Until then, and
 * in a process without jobs, sending throws: the caller's transaction rolls back instead of losing the job.
 */
export class JobQueueSlot implements JobQueue {
  boss: PgBoss | undefined;

  async send(queue: string, data: object, { uow, startAfter, singletonKey, retryDelay }: SendOptions): Promise<void> {
    if (!this.boss) throw new Error('jobs are not running in this process');
    await this.boss.send(queue, data, {
      db: transactionDb(uow.em),
      ...(startAfter !== undefined ? { startAfter } : {}),
      ...(singletonKey !== undefined ? { singletonKey } : {}),
      ...(retryDelay !== undefined ? { retryDelay } : {}),
    });
  }
}

/**
 * As the schema owner (pg-boss's own connection), lets the application role insert jobs in its transactions:
 * schema usage, read of the queue settings the insert joins, insert into the job table, and read of the two
 * columns the insert returns. Nothing else: it cannot read job data, fetch, complete or delete jobs.
 */
export async function grantEnqueue(boss: PgBoss, databaseUrl: string): Promise<void> {
  const role = appRoleName(decodeURIComponent(new URL(databaseUrl).pathname.slice(1)));
  const ident = `"${role.replaceAll('"', '""')}"`;
  // Nodes starting at once would otherwise race on the same catalog rows ("tuple concurrently updated").
  await boss.getDb().executeSql(
    `begin;
     select pg_advisory_xact_lock(7310252501);
     grant usage on schema pgboss to ${ident};
     grant select on pgboss.queue to ${ident};
     grant insert, select (id, start_after) on pgboss.job_common to ${ident};
     commit;`,
  );
}

/** What a domain's `<domain>.jobs.ts` gives the jobs module: its queues, and its workers and schedules. */
export interface DomainJobs {
  /** Creates the domain's queues: every process that enqueues (web, smtp, worker) runs this. */
  queues(boss: PgBoss): Promise<void>;
  /** Workers, schedules and the requeue after a restart: worker processes only. */
  work(boss: PgBoss, log: Logger): Promise<void>;
  /** Runs before pg-boss stops (its handlers still finishing). */
  stop?(): Promise<void>;
}
