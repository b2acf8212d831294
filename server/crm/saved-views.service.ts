import { z } from 'zod';
import { recordType, type RecordType } from '#contracts/common';
import type { MikroORM } from '../../db/orm.ts';
import { SavedViewSchema, type SavedView } from '../../db/entities/saved-view.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireWrite, type Actor } from '../tenancy.ts';

export const savedViewInput = z
  .object({
    entityType: recordType,
    name: z.string().trim().min(1).max(100),
    /** The list's query parameters (q, type, status, tag, sort, cf.<name>, …) as the list route takes them. */
    filters: z
      .record(z.string().max(100), z.string().max(500))
      .refine((f) => Object.keys(f).length <= 30, 'too many filters'),
    isShared: z.boolean().default(false),
  })
  .strict();

/** Named filters for the lists: one's own, and those teammates shared. */
export class SavedViewsService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  list(actor: Actor, entityType: RecordType): Promise<SavedView[]> {
    return inTenant(this.#orm, actor, ({ em }) =>
      em.find(
        SavedViewSchema,
        { entityType, $or: [{ userId: actor.userId }, { isShared: true }] },
        { orderBy: { name: 'asc' } },
      ),
    );
  }

  create(actor: Actor, input: z.infer<typeof savedViewInput>): Promise<SavedView> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      const view = em.create(SavedViewSchema, { ...input, tenantId: actor.tenantId, userId: actor.userId });
      await em.flush();
      return view;
    });
  }

  /** Its owner, or an admin for a shared view, may delete it; a teammate's private view does not exist. */
  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      const view = await em.findOne(SavedViewSchema, { id, $or: [{ userId: actor.userId }, { isShared: true }] });
      if (!view) throw notFound('Saved view');
      if (view.userId !== actor.userId && actor.role === 'member')
        throw new HttpError(403, 'forbidden', 'Only its author or an admin can delete a shared view');
      em.remove(view);
      await em.flush();
    });
  }
}
