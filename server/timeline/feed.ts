import type { MikroORM } from '../../db/orm.ts';
import { DrainLoop } from '../jobs/drain-loop.ts';
import type { Logger } from '../logger.ts';
import { inTenant, systemActor, type UnitOfWork } from '../tenancy.ts';
import { mapActivity } from './activities.service.ts';
import type { ActivityDto } from './publisher.ts';

/** A reader of the workspace's activities: its effects commit with its cursor, so each activity takes effect once. */
export interface FeedConsumer {
  /** Unique, at most 40 characters: the cursor's key (e.g. `webhooks`, `workflows`). */
  name: string;
  /** Activities per transaction (100 by default). */
  batchSize?: number;
  /**
   * Called with the next activities after the cursor, in seq order, inside the transaction that then advances the
   * cursor past them: write every effect (rows, jobs) through `uow`. Throwing rolls both back; the batch is read again.
   */
  handle(uow: UnitOfWork, activities: ActivityDto[]): Promise<void>;
}

interface CursorRow {
  seq: string | number;
}

/**
 * The durable event feed over activities (per-tenant seq, the outbox: an activity commits with the change it
 * records). A consumer reads a workspace only once its cursor exists (`start()`, in the transaction that creates
 * its first reason to read: a webhook subscription, a workflow). Reading a workspace holds its cursor's row lock
 * (`for update skip locked`), so across nodes one batch per workspace and consumer runs at a time; seq order is
 * commit order (ActivitiesService.record), so reading `seq > cursor` never skips a late commit.
 */
export class EventFeed {
  readonly #orm: MikroORM;
  readonly #log: Logger;
  readonly #consumers = new Map<string, FeedConsumer>();
  /** Drains the workspaces woken in this process at once, and every one at each sweep. */
  readonly #loop: DrainLoop;

  constructor(deps: { orm: MikroORM; log: Logger }) {
    this.#orm = deps.orm;
    this.#log = deps.log;
    this.#loop = new DrainLoop((tenantIds) => this.sweep(tenantIds), deps.log, 'feed sweep');
  }

  /** Registered once per process when services are wired (every role: `start()` needs the name to be known). */
  register(consumer: FeedConsumer): void {
    if (consumer.name.length > 40) throw new Error(`feed consumer name too long: ${consumer.name}`);
    if (this.#consumers.has(consumer.name)) throw new Error(`feed consumer registered twice: ${consumer.name}`);
    this.#consumers.set(consumer.name, consumer);
  }

  /** The consumer reads this workspace from its newest activity on (a no-op when it already does). */
  async start(uow: UnitOfWork, consumer: string): Promise<void> {
    await uow.em.execute(
      `insert into feed_cursors (tenant_id, consumer, seq)
       select id, ?, activity_seq from tenants where id = ?
       on conflict (tenant_id, consumer) do nothing`,
      [consumer, uow.actor.tenantId],
    );
  }

  /** Where the consumer stands in this workspace (null before `start()`). */
  async position(tenantId: string, consumer: string): Promise<number | null> {
    return inTenant(this.#orm, systemActor(tenantId), async ({ em }) => {
      const [row] = (await em.execute(`select seq from feed_cursors where tenant_id = ? and consumer = ?`, [
        tenantId,
        consumer,
      ])) as CursorRow[];
      return row ? Number(row.seq) : null;
    });
  }

  /**
   * Reads the workspace for one consumer until it is caught up: batch after batch, each in its own transaction with
   * the cursor's row lock. Answers how many activities it handled (0 too when another node holds the lock).
   */
  async drain(consumerName: string, tenantId: string): Promise<number> {
    const consumer = this.#consumers.get(consumerName);
    if (!consumer) throw new Error(`unknown feed consumer: ${consumerName}`);
    const limit = consumer.batchSize ?? 100;
    let total = 0;
    for (;;) {
      const handled = await inTenant(this.#orm, systemActor(tenantId), async (uow) => {
        const [cursor] = (await uow.em.execute(
          `select seq from feed_cursors where tenant_id = ? and consumer = ? for update skip locked`,
          [tenantId, consumer.name],
        )) as CursorRow[];
        if (!cursor) return 0;
        const rows = (await uow.em.execute(
          `select a.*, u.name as actor_name from activities a left join users u on u.id = a.created_by
            where a.tenant_id = ? and a.seq > ? order by a.seq limit ?`,
          [tenantId, cursor.seq, limit],
        )) as Parameters<typeof mapActivity>[0][];
        if (!rows.length) return 0;
        const activities = rows.map(mapActivity);
        await consumer.handle(uow, activities);
        await uow.em.execute(
          `update feed_cursors set seq = ?, updated_at = now() where tenant_id = ? and consumer = ?`,
          [activities.at(-1)!.seq, tenantId, consumer.name],
        );
        return activities.length;
      });
      total += handled;
      if (handled < limit) return total;
    }
  }

  /** Every registered consumer, in every workspace it is behind in (or only in `tenantIds`). */
  async sweep(tenantIds?: Iterable<string>): Promise<number> {
    let total = 0;
    for (const consumer of this.#consumers.values()) {
      const behind = tenantIds
        ? [...tenantIds]
        : (
            (await this.#orm.em
              .getConnection()
              .execute(`select tenant_id from filo_feed_behind(?, 500)`, [consumer.name])) as { tenant_id: string }[]
          ).map((r) => r.tenant_id);
      for (const tenantId of behind) {
        try {
          total += await this.drain(consumer.name, tenantId);
        } catch (err) {
          this.#log.warn({ err, consumer: consumer.name, tenantId }, 'feed consumer failed; the batch is read again');
        }
      }
    }
    return total;
  }

  /** An activity committed in this process: its workspace is drained at once (other nodes find it by the sweep). */
  wake(tenantId: string): void {
    if (this.#consumers.size) this.#loop.wake(tenantId);
  }

  /** Worker nodes: drain on wake-ups and sweep every `sweepMs` for what other nodes wrote. */
  run(sweepMs: number): void {
    this.#loop.run(sweepMs);
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }
}
