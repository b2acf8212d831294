import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import type {
  EmailTemplate as EmailTemplateView,
  RenderedTemplate,
  renderInput,
  templateInput,
  templatePatch,
} from '#contracts/outbound';
import type { MikroORM } from '../../db/orm.ts';
import { EmailTemplateSchema, type EmailTemplate } from '../../db/entities/email-template.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import { authorOf, inTenant, requireWrite, type Actor } from '../tenancy.ts';
import { checkTokens, tokenContext } from './context.ts';
import { composeOffThread } from './compose.ts';
import { parseTokens, renderTokens } from './tokens.ts';

export { renderInput, templateInput, templatePatch } from '#contracts/outbound';

export type TemplateDto = EmailTemplateView;

const dto = (t: EmailTemplate): TemplateDto => ({
  id: t.id,
  name: t.name,
  subject: t.subject ?? null,
  body: t.body,
  createdBy: t.createdBy ?? null,
  createdAt: t.createdAt.toISOString(),
  updatedAt: t.updatedAt.toISOString(),
  version: t.version,
});

/** The workspace's reply templates: tokens checked when saved, rendered for a conversation or a contact. */
export class TemplatesService {
  readonly #orm: MikroORM;
  readonly #mailboxes: MailboxesService;

  constructor(orm: MikroORM, mailboxes: MailboxesService) {
    this.#orm = orm;
    this.#mailboxes = mailboxes;
  }

  #validate(input: { subject?: string | null | undefined; body?: string | undefined }) {
    if (input.subject) checkTokens('subject', () => parseTokens(input.subject!));
    if (input.body !== undefined) checkTokens('body', () => parseTokens(input.body!));
  }

  list(actor: Actor): Promise<TemplateDto[]> {
    return inTenant(this.#orm, actor, async ({ em }) =>
      (await em.find(EmailTemplateSchema, {}, { orderBy: { name: 'asc' }, limit: 500 })).map(dto),
    );
  }

  /** `forUpdate`: read under the row's lock, so that concurrent edits land one after the other (one version each). */
  async #find(em: EntityManager, id: string, forUpdate = false): Promise<EmailTemplate> {
    const template = await em.findOne(
      EmailTemplateSchema,
      { id },
      forUpdate ? { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true } : {},
    );
    if (!template) throw notFound('Template');
    return template;
  }

  /**
   * Members change only their own templates, and none that an auto-reply rule sends: an admin's rule must not
   * mail customers words a member wrote after the admin chose them.
   */
  async #mayChange(em: EntityManager, actor: Actor, template: EmailTemplate) {
    if (actor.role !== 'member' || actor.system) return;
    if (template.createdBy !== actor.userId)
      throw new HttpError(403, 'forbidden', 'Only whoever wrote this template or an admin can change it');
    const used = await em.execute(
      `select 1 from auto_reply_rules where tenant_id = ? and actions->>'autoReplyTemplateId' = ? limit 1`,
      [actor.tenantId, template.id],
    );
    if (used.length)
      throw new HttpError(403, 'forbidden', 'An auto-reply rule sends this template: only admins can change it');
  }

  get(actor: Actor, id: string): Promise<TemplateDto> {
    return inTenant(this.#orm, actor, async ({ em }) => dto(await this.#find(em, id)));
  }

  create(actor: Actor, input: z.infer<typeof templateInput>): Promise<TemplateDto> {
    requireWrite(actor);
    this.#validate(input);
    return inTenant(this.#orm, actor, async ({ em }) => {
      const template = em.create(EmailTemplateSchema, {
        tenantId: actor.tenantId,
        name: input.name,
        subject: input.subject || null,
        body: input.body,
        createdBy: authorOf(actor),
      });
      await em.flush();
      return dto(template);
    });
  }

  update(actor: Actor, id: string, patch: z.infer<typeof templatePatch>): Promise<TemplateDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      const template = await this.#find(em, id, true);
      await this.#mayChange(em, actor, template);
      this.#validate(patch);
      if (patch.name !== undefined) template.name = patch.name;
      if (patch.subject !== undefined) template.subject = patch.subject || null;
      if (patch.body !== undefined) template.body = patch.body;
      await em.flush();
      return dto(template);
    });
  }

  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      const template = await this.#find(em, id);
      await this.#mayChange(em, actor, template);
      em.remove(template);
      await em.flush();
    });
  }

  /** The template filled in for a conversation (or a contact): subject, Markdown body, and its HTML preview. */
  render(actor: Actor, id: string, source: z.infer<typeof renderInput>): Promise<RenderedTemplate> {
    return inTenant(this.#orm, actor, async (uow) => {
      const template = await this.#find(uow.em, id);
      const ctx = await tokenContext(uow, this.#mailboxes, source);
      const body = renderTokens(template.body, ctx.values);
      const subject = template.subject ? renderTokens(template.subject, ctx.values) : null;
      const composed = await composeOffThread(body, 'markdown', null);
      return { templateId: template.id, subject, body, html: composed.html, text: composed.text };
    });
  }
}
