import type { MikroORM } from '../../db/orm.ts';
import { inTenant, type Actor } from '../tenancy.ts';
import type { RecordName } from '#contracts/home';

const SQL = {
  company: `select id, name from companies where tenant_id = ? and id = any(?::uuid[])`,
  contact: `select id, trim(first_name || ' ' || last_name) as name from contacts where tenant_id = ? and id = any(?::uuid[])`,
  deal: `select id, title as name from deals where tenant_id = ? and id = any(?::uuid[])`,
} as const;

/** What the Home page reads beside the other domains' APIs. */
export class HomeService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  /** The names of these records in the actor's workspace; ids of none (deleted, another workspace's) are left out. */
  recordNames(actor: Actor, wanted: Partial<Record<RecordName['type'], string[]>>): Promise<RecordName[]> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const out: RecordName[] = [];
      for (const type of ['company', 'contact', 'deal'] as const) {
        const ids = [...new Set(wanted[type] ?? [])];
        if (!ids.length) continue;
        // Array parameters as PostgreSQL array literals: the driver would expand a JS array into a list.
        const rows = (await em.execute(SQL[type], [actor.tenantId, `{${ids.join(',')}}`])) as {
          id: string;
          name: string;
        }[];
        for (const r of rows) out.push({ type, id: r.id, name: r.name });
      }
      return out;
    });
  }
}
