import type pg from 'pg';

/** The demo workspace and its owner (demo@filo.local), read as the schema owner. */
export async function demoOwner(owner: pg.Client): Promise<{ tenantId: string; userId: string }> {
  const { rows } = await owner.query<{ tenant_id: string; user_id: string }>(
    `select m.tenant_id, m.user_id from memberships m join users u on u.id = m.user_id where u.email = 'demo@filo.local'`,
  );
  return { tenantId: rows[0]!.tenant_id, userId: rows[0]!.user_id };
}
