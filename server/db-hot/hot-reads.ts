import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger.ts';

/** A read of the hot path: its SQL once, and a name derived from it (one text, one name, on every connection). */
export interface HotStatement {
  readonly name: string;
  readonly text: string;
}

/**
 * Wraps `body` so that one statement sets the tenant for row-level security and reads, in one round trip.
 * The CTE runs `set_config(…, is_local = true)` and the body, which must name `filo_tenant.id` (its tenant, also
 * filtered on explicitly), is a LATERAL subquery of that CTE's one row: PostgreSQL can only run it as the inner
 * side of a nested loop, after the outer row (the setting) exists. A body that ends in a limit is never flattened
 * into a plain join (whose order the planner would choose), and keeps its order as the loop's only inner side.
 * No BEGIN: the statement is its own implicit transaction, at whose end (commit or error) the local setting is
 * gone, so the next user of the pooled connection never inherits a tenant.
 */
export function tenantStatement(body: string): HotStatement {
  return named(`${TENANT}
select q.* from filo_tenant cross join lateral (${lateral(body)}) q`);
}

/**
 * `tenantStatement`'s rows folded by PostgreSQL into one text (a whole answer, say): one row of one column, so that
 * `pg` parses one value where it parsed a row per item. `fold` is an aggregate over `r`, the body's rows; aggregates
 * take their rows in no stated order, so the fold says its own (`string_agg(… order by …)`). It runs inside the
 * lateral subquery, after the tenant is set. (A list page, which drops the row after the page, would need the rows
 * numbered: a window pass that cost PostgreSQL more than `pg` saved: bench/README.md, session 13.)
 */
export function tenantFold(body: string, fold: string): HotStatement {
  return named(`${TENANT}
select q.text from filo_tenant cross join lateral (select ${fold} as text from (${lateral(body)}) r) q`);
}

const TENANT = `with filo_tenant as materialized (select set_config('app.tenant_id', $1::text, true)::uuid as id)`;

function lateral(body: string): string {
  if (!body.includes('filo_tenant.id') || !/\blimit (\$\d+(::int)?|\d+)\s*$/i.test(body))
    throw new Error('a hot statement names filo_tenant.id and ends with `limit $n` or `limit <number>`');
  return body;
}

const named = (text: string): HotStatement => ({
  name: `hot_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`,
  text,
});

/**
 * The hot reads' own `pg` pool, connected as the application role (row-level security applies), with named
 * prepared statements: each is parsed and planned once per connection, where the ORM sends its parameters inlined
 * and PostgreSQL plans every statement anew. Rows come back as `pg` parses them, for mapping straight to DTOs.
 */
export class HotReads {
  readonly pool: pg.Pool;

  constructor(url: string, opts: { max: number; log?: Logger }) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.max,
      // As the ORM's pool: a request never waits more than 5 s for a connection (then 503).
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      application_name: 'filo-hot',
    });
    // An idle connection dropped by the server (restart, failover) is replaced on the next read; never a crash.
    this.pool.on('error', (err) => opts.log?.warn({ err, component: 'db-hot' }, 'hot-read connection lost'));
  }

  /** Rows of `statement` (from `tenantStatement`) for `tenantId`; `values` are its parameters $2, $3, … */
  async read<R extends pg.QueryResultRow>(tenantId: string, statement: HotStatement, values: unknown[]): Promise<R[]> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query<R>({
        name: statement.name,
        text: statement.text,
        values: [tenantId, ...values],
      });
      client.release();
      return rows;
    } catch (err) {
      // PostgreSQL refused the statement (a forged cursor's cast, say): the connection and its prepared statements
      // are fine, keep them (`pool.query` would drop the connection). Anything else: the connection goes.
      client.release(err instanceof pg.DatabaseError ? undefined : (err as Error));
      throw err;
    }
  }

  /** The one text of `statement` (from `tenantFold`) for `tenantId`; `values` are its parameters $2, $3, … */
  async text(tenantId: string, statement: HotStatement, values: unknown[]): Promise<string> {
    const [row] = await this.read<{ text: string }>(tenantId, statement, values);
    return row!.text;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
