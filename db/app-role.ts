import { createHmac } from 'node:crypto';
import type pg from 'pg';

/**
 * The role the application connects as: it can log in and read/write rows, but it is neither the schema owner
 * nor a superuser, so PostgreSQL's row-level security applies to every query it makes. One role per database,
 * its password derived from SECRET_KEY, so that every node computes the same one and none is stored.
 */
export function appRoleName(database: string): string {
  return `${database}_app`.slice(0, 63);
}

export function appRolePassword(secretKey: string, database: string): string {
  return createHmac('sha256', secretKey).update(`filo-app-role:${database}`).digest('hex');
}

/** Creates (or re-keys) the application role and grants it what it needs; runs as the owner after migrations. */
export async function ensureAppRole(owner: pg.Client, databaseUrl: string, secretKey: string): Promise<string> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  const role = appRoleName(database);
  const password = appRolePassword(secretKey, database);
  const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;
  const { rowCount } = await owner.query('select 1 from pg_roles where rolname = $1', [role]);
  const verb = rowCount ? 'alter' : 'create';
  try {
    await owner.query(
      `${verb} role ${ident(role)} login nosuperuser nocreatedb nocreaterole nobypassrls password ${literal(password)}`,
    );
  } catch (err) {
    throw new Error(
      `could not ${verb} the application role ${role}: the DATABASE_URL user needs CREATEROLE (${(err as Error).message})`,
      { cause: err },
    );
  }
  await owner.query(`grant connect on database ${ident(database)} to ${ident(role)}`);
  await owner.query(`grant usage on schema public to ${ident(role)}`);
  await owner.query(`grant select, insert, update, delete on all tables in schema public to ${ident(role)}`);
  await owner.query(`grant usage, select on all sequences in schema public to ${ident(role)}`);
  await owner.query(`grant execute on all functions in schema public to ${ident(role)}`);
  // Bookkeeping tables are the owner's business.
  await owner.query(`revoke insert, update, delete on mikro_orm_migrations, app_meta from ${ident(role)}`);
  // The audit log is append-only (migration 20261208120000): the app inserts, only the purge function removes.
  await owner.query(`revoke update, delete, truncate on audit_entries from ${ident(role)}`);
  url.username = encodeURIComponent(role);
  url.password = encodeURIComponent(password);
  return url.toString();
}
