import { createHash } from 'node:crypto';
import type { UnitOfWork } from '../tenancy.ts';

/** A hot statement of a write path: its SQL ($1, $2, … placeholders) once, and a name derived from it. */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

/** One text, one name, on every connection: a name never stands for two texts. */
export function prepared(text: string): PreparedStatement {
  return { name: `hotw_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
}

interface RawConnection {
  executeQuery(query: unknown): Promise<{ rows: unknown[] }>;
}

/**
 * Runs `statement` as a named prepared statement on the connection of the caller's transaction (`inTenant`: the
 * tenant is set, row-level security applies, and it commits or rolls back with everything else written there).
 * Parsed once per connection and, after five runs, planned once (generic plan), where the ORM's `execute` inlines
 * the parameters and PostgreSQL parses and plans every call anew. Rows come back as `pg` parses them.
 *
 * The ORM hands its transaction to kysely, whose PostgreSQL connection passes a compiled query's `sql` and
 * `parameters` straight to `pg`'s `client.query(config, values)`; `pg` reads a config object's `name` and `text`
 * as a named prepared statement. So the statement goes as that object, through the transaction's own connection.
 */
export async function runPrepared<R>(uow: UnitOfWork, statement: PreparedStatement, values: unknown[]): Promise<R[]> {
  const trx = uow.em.getTransactionContext<RawConnection & object>();
  if (!trx) throw new Error('a prepared write runs inside a transaction (inTenant)');
  const { rows } = await trx.executeQuery({
    sql: { name: statement.name, text: statement.text },
    parameters: values,
    query: { kind: 'RawNode', sqlFragments: [statement.text], parameters: [] },
    queryId: { queryId: statement.name },
  });
  return rows as R[];
}

const onceRead = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * `statement`'s rows for `values`, made into `T` by `make`, read once per transaction (its EntityManager): for what
 * a batch's messages all ask and its own writes do not change (the workspace's addresses, say).
 */
export function preparedOnce<R, T>(
  uow: UnitOfWork,
  statement: PreparedStatement,
  values: unknown[],
  make: (rows: R[]) => T,
): Promise<T> {
  let reads = onceRead.get(uow.em);
  if (!reads) onceRead.set(uow.em, (reads = new Map()));
  const key = `${statement.name}:${JSON.stringify(values)}`;
  let read = reads.get(key) as Promise<T> | undefined;
  if (!read) reads.set(key, (read = runPrepared<R>(uow, statement, values).then(make)));
  return read;
}
