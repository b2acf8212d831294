import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { Server } from 'socket.io';
import type { MikroORM } from '../../../db/orm.ts';
import type { QueueReading } from './metrics.ts';

/** Readings of the job queues are this fresh at most: a scrape every second costs one query per 5 s. */
const QUEUE_CACHE_MS = 5_000;

/** Local Socket.io connections and named rooms (the adapter's rooms less each socket's own). */
export function socketsOf(io: Server) {
  return () => {
    const adapter = io.of('/').adapter;
    return { connections: io.engine.clientsCount, rooms: Math.max(0, adapter.rooms.size - adapter.sids.size) };
  };
}

/**
 * Per queue, the jobs due now and not yet taken, and how long the oldest of them has been due: one grouped
 * read of pg-boss's partial index on live jobs, as the schema owner (the application role cannot read jobs).
 */
export function queuesOf(boss: PgBoss): () => Promise<QueueReading[]> {
  let cached: { at: number; readings: Promise<QueueReading[]> } | undefined;
  return () => {
    const now = Date.now();
    if (cached && now - cached.at < QUEUE_CACHE_MS) return cached.readings;
    const readings = read(boss);
    cached = { at: now, readings };
    // A failed read is not kept: the next scrape tries again.
    readings.catch(() => (cached = undefined));
    return readings;
  };
}

async function read(boss: PgBoss): Promise<QueueReading[]> {
  const { rows } = (await boss.getDb().executeSql(
    `select q.name, coalesce(j.depth, 0)::int as depth, coalesce(j.oldest, 0)::float8 as oldest
       from pgboss.queue q
       left join (select name, count(*) as depth, extract(epoch from now() - min(start_after)) as oldest
                    from pgboss.job where state < 'active' and start_after <= now() group by name) j
         on j.name = q.name
      order by q.name`,
  )) as { rows: { name: string; depth: number; oldest: number }[] };
  return rows.map((r) => ({ queue: r.name, depth: r.depth, oldestSeconds: Math.max(0, r.oldest) }));
}

/** The application pool of MikroORM's driver (`pg`): connections open, idle, and requests waiting for one. */
export function poolOf(orm: MikroORM) {
  return async () => {
    const pool = (await orm.em.getConnection().getNativeClient()) as pg.Pool;
    return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
  };
}
