import { LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import type { Signature as SignatureView, signatureInput, signaturePatch } from '#contracts/outbound';
import type { MikroORM } from '../../db/orm.ts';
import { MailboxSchema } from '../../db/entities/mailbox.entity.ts';
import { SignatureSchema, type Signature } from '../../db/entities/signature.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import { inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import { checkTokens } from './context.ts';
import { parseTokens } from './tokens.ts';

export { resolveQuery, signatureInput, signaturePatch } from '#contracts/outbound';

export type SignatureDto = SignatureView;

const dto = (s: Signature): SignatureDto => ({
  id: s.id,
  scope: s.userId ? 'user' : 'mailbox',
  userId: s.userId ?? null,
  mailboxId: s.mailboxId ?? null,
  body: s.body,
  updatedAt: s.updatedAt.toISOString(),
  version: s.version,
});

const isAdmin = (actor: Actor) => actor.role === 'owner' || actor.role === 'admin';

/**
 * Signatures per user and per mailbox. The one used for a message: the user's for that mailbox, else the user's
 * default, else the mailbox's.
 */
export class SignaturesService {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;

  constructor(orm: MikroORM, mailboxes: MailboxesService) {
    this.#orm = orm;
    this.#mailboxes = mailboxes;
  }

  /** Yours, and those of the mailboxes you see. */
  list(actor: Actor): Promise<SignatureDto[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      const visible = await uow.em.find(MailboxSchema, this.#mailboxes.visibleFilter(actor), { fields: ['id'] });
      const rows = await uow.em.find(
        SignatureSchema,
        {
          $or: [{ userId: actor.userId }, { userId: null, mailboxId: { $in: visible.map((m) => m.id) } }],
        },
        { orderBy: { createdAt: 'asc' } },
      );
      return rows.map(dto);
    });
  }

  /** `forUpdate`: read under the row's lock, so that concurrent edits land one after the other (one version each). */
  async #find(uow: UnitOfWork, id: string, forUpdate = false): Promise<Signature> {
    const row = await uow.em.findOne(
      SignatureSchema,
      { id },
      forUpdate ? { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true } : {},
    );
    if (!row) throw notFound('Signature');
    if (row.userId && row.userId !== uow.actor.userId) throw notFound('Signature');
    if (row.mailboxId) {
      try {
        await this.#mailboxes.findVisible(uow, row.mailboxId);
      } catch {
        throw notFound('Signature');
      }
    }
    return row;
  }

  #mayEdit(actor: Actor, row: Signature) {
    if (!row.userId && !isAdmin(actor))
      throw new HttpError(403, 'forbidden', 'Only owners and admins can change a mailbox’s signature');
  }

  create(actor: Actor, input: z.infer<typeof signatureInput>): Promise<SignatureDto> {
    requireWrite(actor);
    checkTokens('body', () => parseTokens(input.body));
    return inTenant(this.#orm, actor, async (uow) => {
      const mailboxId = input.mailboxId ?? null;
      if (mailboxId) await this.#mailboxes.findVisible(uow, mailboxId);
      if (input.scope === 'mailbox') {
        if (!mailboxId)
          throw new HttpError(400, 'validation_failed', 'A mailbox signature needs its mailbox', {
            mailboxId: 'is required',
          });
        if (!isAdmin(actor))
          throw new HttpError(403, 'forbidden', 'Only owners and admins can set a mailbox’s signature');
      }
      const userId = input.scope === 'user' ? actor.userId : null;
      const taken = await uow.em.count(SignatureSchema, { userId, mailboxId });
      if (taken) throw new HttpError(409, 'signature_exists', 'There is already a signature for this; edit it instead');
      const row = uow.em.create(SignatureSchema, { tenantId: actor.tenantId, userId, mailboxId, body: input.body });
      await uow.em.flush();
      return dto(row);
    });
  }

  update(actor: Actor, id: string, patch: z.infer<typeof signaturePatch>): Promise<SignatureDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const row = await this.#find(uow, id, true);
      this.#mayEdit(actor, row);
      checkTokens('body', () => parseTokens(patch.body));
      row.body = patch.body;
      await uow.em.flush();
      return dto(row);
    });
  }

  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const row = await this.#find(uow, id);
      this.#mayEdit(actor, row);
      uow.em.remove(row);
      await uow.em.flush();
    });
  }

  /** The signature a message from this mailbox gets by default (null when there is none). */
  async choose(uow: UnitOfWork, mailboxId: string): Promise<Signature | null> {
    const rows = await uow.em.find(SignatureSchema, {
      $or: [{ userId: uow.actor.userId }, { userId: null, mailboxId }],
    });
    return (
      rows.find((s) => s.userId === uow.actor.userId && s.mailboxId === mailboxId) ??
      rows.find((s) => s.userId === uow.actor.userId && !s.mailboxId) ??
      rows.find((s) => !s.userId && s.mailboxId === mailboxId) ??
      null
    );
  }

  /** One of the signatures the actor may use (theirs, or a visible mailbox's), else 404. */
  usable(uow: UnitOfWork, id: string): Promise<Signature> {
    return this.#find(uow, id);
  }

  resolve(actor: Actor, mailboxId: string): Promise<SignatureDto | null> {
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#mailboxes.findVisible(uow, mailboxId);
      const row = await this.choose(uow, mailboxId);
      return row ? dto(row) : null;
    });
  }
}
