import pg from 'pg';

// SQLSTATE class 08 (connection exception), the server shutting down or starting (57P01-57P03), too many clients.
const SQLSTATE = /^(08...|57P0[123]|53300)$/;
// What `pg` says when a connection drops or cannot be made in time.
const PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Whether an error means PostgreSQL cannot be reached now (stopped, restarting, failing over), as opposed to a
 * bug or a bad query: through MikroORM or kysely it arrives as `pg` raised it, perhaps as the cause of another.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof pg.DatabaseError) return SQLSTATE.test(e.code ?? '');
    const { code, message, stack, name } = e as { code?: unknown; message?: unknown; stack?: unknown; name?: unknown };
    if (name === 'ConnectionException') return true;
    if (typeof message === 'string' && PG_MESSAGES.test(message)) return true;
    // A refused connect is the database's only when it was pg-pool connecting (not, say, an SMTP server's).
    if (typeof code === 'string' && CONNECT_CODES.has(code) && typeof stack === 'string' && stack.includes('pg-pool'))
      return true;
  }
  return false;
}
