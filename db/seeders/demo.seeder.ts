import type { EntityManager } from '@mikro-orm/postgresql';
import { hashPassword } from '../../server/auth/passwords.ts';
import { MembershipSchema } from '../entities/membership.entity.ts';
import { TenantSchema } from '../entities/tenant.entity.ts';
import { UserSchema } from '../entities/user.entity.ts';

export const DEMO_SEED_KEY = 'demo_seeded_at';
export const DEMO_WORKSPACE = { name: 'Filo Demo', slug: 'demo' };
export const DEMO_PASSWORD = 'filo-demo';
export const DEMO_USERS = [
  { name: 'Demo Owner', email: 'demo@filo.local', role: 'owner' },
  { name: 'Mario Rossi', email: 'mario@filo.local', role: 'admin' },
  { name: 'Sara Bianchi', email: 'sara@filo.local', role: 'member' },
  { name: 'Luca Verdi', email: 'luca@filo.local', role: 'member' },
] as const;
export type DemoUserEmail = (typeof DEMO_USERS)[number]['email'];

/** The demo workspace a start has just seeded: who owns it, for the CRM data written on their behalf. */
export interface DemoWorkspace {
  tenantId: string;
  ownerId: string;
}

/**
 * Seeds the demo workspace once per installation, in one transaction with its marker row; a second start
 * (or a second node racing the first) finds the marker and seeds nothing, even if the demo was since deleted.
 * Returns the workspace when this call seeded it, null otherwise.
 */
export async function seedDemoWorkspace(em: EntityManager): Promise<DemoWorkspace | null> {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  return em.transactional(async (tx) => {
    const conn = tx.getConnection();
    const marked = await conn.execute(
      `insert into app_meta (key, value) values (?, ?) on conflict (key) do nothing returning key`,
      [DEMO_SEED_KEY, JSON.stringify(new Date().toISOString())],
      'all',
      tx.getTransactionContext(),
    );
    if (marked.length === 0) return null;
    const tenant = tx.create(TenantSchema, DEMO_WORKSPACE);
    const users = DEMO_USERS.map((user) => {
      const created = tx.create(UserSchema, { email: user.email, name: user.name, passwordHash });
      tx.create(MembershipSchema, { tenant, user: created, role: user.role });
      return created;
    });
    await tx.flush();
    return { tenantId: tenant.id, ownerId: users[DEMO_USERS.findIndex((u) => u.role === 'owner')]!.id };
  });
}

/** {@link seedDemoWorkspace}, answering only whether this call seeded it. */
export async function seedDemo(em: EntityManager): Promise<boolean> {
  return (await seedDemoWorkspace(em)) !== null;
}
