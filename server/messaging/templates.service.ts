import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { z } from 'zod';
import {
  templateVariables,
  type MessageTemplate as MessageTemplateDto,
  type messageTemplateInput,
} from '#contracts/messaging';
import { checkTemplate } from '#contracts/template-variables';
import type { MikroORM } from '../../db/orm.ts';
import { MessageTemplateSchema, type MessageTemplate } from '../../db/entities/message-template.entity.ts';
import { MessagingAccountSchema } from '../../db/entities/messaging-account.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';

export function templateDto(t: MessageTemplate): MessageTemplateDto {
  return {
    id: t.id,
    channel: t.channel as MessageTemplateDto['channel'],
    accountId: t.accountId ?? null,
    name: t.name,
    language: t.language,
    category: (t.category ?? null) as MessageTemplateDto['category'],
    body: t.body,
    variables: t.variables,
    providerTemplateId: t.providerTemplateId ?? null,
    status: t.status,
    createdAt: t.createdAt.toISOString(),
    version: t.version,
  };
}

/** Checks a template before it is stored; other modules (the templates' screen) may add their own checks. */
export type TemplateCheck = (input: z.infer<typeof messageTemplateInput>) => void;

/** Message templates per channel (WhatsApp ones mirror the approved templates: name, language, category, variables). */
export class MessageTemplatesService {
  readonly #orm: MikroORM;
  /** Extra checks on save (variables numbered 1..n for WhatsApp, lengths…), added by the templates' module. */
  readonly checks: TemplateCheck[] = [];

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  list(actor: Actor, channel?: string): Promise<MessageTemplateDto[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      const rows = await uow.em.find(MessageTemplateSchema, channel ? { channel: channel as never } : {}, {
        orderBy: { channel: 'asc', name: 'asc', language: 'asc' },
      });
      return rows.map(templateDto);
    });
  }

  async #checked(uow: UnitOfWork, input: z.infer<typeof messageTemplateInput>) {
    for (const check of this.checks) check(input);
    // The same check as the form's: an API client cannot store a variable that would never be filled.
    const problems = checkTemplate({ body: input.body, positional: input.channel === 'whatsapp' });
    if (problems.length)
      throw new HttpError(400, 'validation_failed', 'The template’s variables are not valid', {
        body: problems.map((p) => (p.variable ? `${p.code} (${p.variable})` : p.code)).join(', '),
      });
    if (input.channel === 'whatsapp' && input.status === 'approved' && !input.providerTemplateId)
      throw new HttpError(400, 'validation_failed', 'An approved WhatsApp template needs its provider id', {
        providerTemplateId: 'is required for an approved WhatsApp template',
      });
    if (input.accountId && !(await uow.em.count(MessagingAccountSchema, { id: input.accountId })))
      throw new HttpError(400, 'validation_failed', 'Unknown messaging account', { accountId: 'not found' });
    return { ...input, variables: templateVariables(input.body) };
  }

  async create(actor: Actor, input: z.infer<typeof messageTemplateInput>): Promise<MessageTemplateDto> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    try {
      return await inTenant(this.#orm, actor, async (uow) => {
        const data = await this.#checked(uow, input);
        const row = uow.em.create(MessageTemplateSchema, {
          ...data,
          tenantId: actor.tenantId,
          createdBy: actor.userId,
        });
        await uow.em.flush();
        return templateDto(row);
      });
    } catch (err) {
      throw exists(err);
    }
  }

  async update(
    actor: Actor,
    id: string,
    input: z.infer<typeof messageTemplateInput> & { version: number },
  ): Promise<MessageTemplateDto> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    try {
      return await inTenant(this.#orm, actor, async (uow) => {
        const row = await uow.em.findOne(MessageTemplateSchema, { id });
        if (!row) throw notFound('Template');
        if (row.version !== input.version)
          throw new HttpError(409, 'version_conflict', 'The template was changed meanwhile: reload it');
        const { version: _v, ...rest } = input;
        Object.assign(row, await this.#checked(uow, rest));
        await uow.em.flush();
        return templateDto(row);
      });
    } catch (err) {
      throw exists(err);
    }
  }

  async remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    await inTenant(this.#orm, actor, async (uow) => {
      if (!(await uow.em.nativeDelete(MessageTemplateSchema, { id }))) throw notFound('Template');
    });
  }
}

function exists(err: unknown): unknown {
  if (err instanceof UniqueConstraintViolationException)
    return new HttpError(409, 'template_exists', 'A template of this channel has that name and language already', {
      name: 'already used',
    });
  return err;
}
