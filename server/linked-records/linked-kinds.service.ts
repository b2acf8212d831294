import type { z } from 'zod';
import type { LinkedKind, linkedKindCreate, linkedKindPatch } from '#contracts/linked-records';
import type { MikroORM } from '../../db/orm.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { requireScope } from '../auth/scopes.ts';
import { inTenant, requireRole, type Actor } from '../tenancy.ts';
import { kindsOf } from './linked-records.queries.ts';

type KindCreate = z.infer<typeof linkedKindCreate>;
type KindPatch = z.infer<typeof linkedKindPatch>;

/** The workspace's own kinds of linked records (Settings > Linked records): owners and admins define them. */
export class LinkedKindsService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  list(actor: Actor): Promise<LinkedKind[]> {
    requireScope(actor, 'linked', 'read');
    return inTenant(this.#orm, actor, (uow) => kindsOf(uow));
  }

  create(actor: Actor, input: KindCreate): Promise<LinkedKind> {
    requireScope(actor, 'linked', 'write');
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async (uow) => {
      const rows = (await uow.em.execute(
        `insert into linked_record_kinds (id, tenant_id, key, label, tab) values (gen_random_uuid(), ?, ?, ?, ?)
         on conflict (tenant_id, key) do nothing returning id`,
        [actor.tenantId, input.key, input.label, input.tab],
      )) as { id: string }[];
      if (!rows[0])
        throw new HttpError(409, 'kind_exists', `The kind "${input.key}" exists already`, { key: 'already exists' });
      return { id: rows[0].id, key: input.key, label: input.label, tab: input.tab, builtin: false };
    });
  }

  update(actor: Actor, id: string, patch: KindPatch): Promise<LinkedKind> {
    requireScope(actor, 'linked', 'write');
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async (uow) => {
      const [row] = (await uow.em.execute(
        `update linked_record_kinds set label = coalesce(?, label), tab = coalesce(?, tab) where id = ?
         returning id, key, label, tab`,
        [patch.label ?? null, patch.tab ?? null, id],
      )) as Omit<LinkedKind, 'builtin'>[];
      if (!row) throw notFound('Kind');
      return { ...row, builtin: false };
    });
  }

  /** A kind still used by records stays (400 `kind_in_use`): the records would lose their tab. */
  remove(actor: Actor, id: string): Promise<void> {
    requireScope(actor, 'linked', 'write');
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async (uow) => {
      const [kind] = (await uow.em.execute(`select key from linked_record_kinds where id = ? for update`, [id])) as {
        key: string;
      }[];
      if (!kind) throw notFound('Kind');
      const [used] = (await uow.em.execute(`select 1 from linked_records where kind = ? limit 1`, [
        kind.key,
      ])) as unknown[];
      if (used) throw new HttpError(400, 'kind_in_use', 'Records of this kind exist: remove them first');
      await uow.em.execute(`delete from linked_record_kinds where id = ?`, [id]);
    });
  }
}
