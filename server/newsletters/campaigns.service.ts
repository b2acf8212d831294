import { LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import type {
  Campaign as CampaignView,
  CampaignPreview,
  campaignInput,
  campaignListQuery,
  campaignPatch,
  CampaignSummary,
  previewInput,
  testSendInput,
} from '#contracts/campaigns';
import type { MikroORM } from '../../db/orm.ts';
import { CampaignSchema, type Campaign } from '../../db/entities/campaign.entity.ts';
import { isStale, versionConflict } from '../crm/version-conflict.ts';
import type { Mailer } from '../delivery/mailer.ts';
import type { Secrets } from '../crypto/secrets.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { FixedWindows, tooMany } from '../http/rate-limit.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import { dkimOf, smtpOf } from '../delivery/transport-settings.ts';
import { authorOf, inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import { checkCampaignTokens, knownLists, notReady, resolveSender } from './campaign-checks.ts';
import { contactValues, mergeMail, prepareVariant, SAMPLE_VALUES, variantSources } from './campaign-mail.ts';
import { campaignDto, countersOf, decodeCursor, encodeCursor, summaryDto } from './campaign-view.ts';
import { compileOffThread } from './compile-pool.ts';
import { BLANK_DOCUMENT, STARTER_TEMPLATES, starterTemplate } from './templates.ts';

export interface CampaignsDeps {
  orm: MikroORM;
  mailboxes: MailboxesService;
  mailer: Mailer;
  secrets: Secrets;
  inboundDomain: string;
  /** Test copies a workspace may send per hour. */
  testSendsPerHour?: number;
}

/** Campaigns a member may edit: drafts and scheduled ones (a scheduled one stays ready, or the edit is refused). */
const EDITABLE = new Set(['draft', 'scheduled']);

/** Newsletter campaigns: drafts and their edits, previews and test copies (the lifecycle is campaign-lifecycle.ts). */
export class CampaignsService {
  readonly #d: CampaignsDeps;
  readonly #tests: FixedWindows;

  constructor(deps: CampaignsDeps) {
    this.#d = deps;
    this.#tests = new FixedWindows(60 * 60_000);
  }

  templates() {
    return STARTER_TEMPLATES;
  }

  list(
    actor: Actor,
    q: z.infer<typeof campaignListQuery>,
  ): Promise<{ items: CampaignSummary[]; nextCursor: string | null }> {
    return inTenant(this.#d.orm, actor, async ({ em }) => {
      const after = q.cursor ? decodeCursor(q.cursor) : null;
      if (q.cursor && !after)
        throw new HttpError(400, 'validation_failed', 'The cursor is not valid', {
          cursor: 'not a cursor of this list',
        });
      const where: Record<string, unknown> = {};
      if (q.status) where.status = q.status;
      if (q.q) where.name = { $ilike: `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
      if (after)
        where.$or = [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, id: { $lt: after.id } }];
      const rows = await em.find(CampaignSchema, where as never, {
        orderBy: { createdAt: 'desc', id: 'desc' },
        limit: q.limit + 1,
        exclude: ['content', 'rendered', 'variants'] as never,
      });
      const page = rows.slice(0, q.limit);
      const counters = await countersOf(
        em,
        actor.tenantId,
        page.map((c) => c.id),
      );
      return {
        items: page.map((c) => summaryDto(c, counters.get(c.id))),
        nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!) : null,
      };
    });
  }

  async find(uow: UnitOfWork, id: string, lock = false): Promise<Campaign> {
    const c = await uow.em.findOne(
      CampaignSchema,
      { id },
      lock ? { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true } : {},
    );
    if (!c) throw notFound('Campaign');
    return c;
  }

  async view(uow: UnitOfWork, c: Campaign): Promise<CampaignView> {
    return campaignDto(c, (await countersOf(uow.em, uow.actor.tenantId, [c.id])).get(c.id));
  }

  get(actor: Actor, id: string): Promise<CampaignView> {
    return inTenant(this.#d.orm, actor, async (uow) => this.view(uow, await this.find(uow, id)));
  }

  /** Lists and mailbox of an edit exist here (and the mailbox is visible): else 400 naming the field. */
  async #checkRefs(uow: UnitOfWork, input: { listIds?: string[] | undefined; mailboxId?: string | null | undefined }) {
    if (input.listIds?.length) {
      const known = await knownLists(uow, input.listIds);
      if (input.listIds.some((id) => !known.has(id)))
        throw new HttpError(400, 'validation_failed', 'Unknown list', { listIds: 'not lists of this workspace' });
    }
    if (input.mailboxId) {
      const mailbox = await this.#d.mailboxes.findVisible(uow, input.mailboxId).catch(() => null);
      if (!mailbox)
        throw new HttpError(400, 'validation_failed', 'Unknown mailbox', { mailboxId: 'not a mailbox you can use' });
    }
  }

  create(actor: Actor, input: z.infer<typeof campaignInput>): Promise<CampaignView> {
    requireWrite(actor);
    let content = input.content;
    if (!content && input.templateId) {
      content = starterTemplate(input.templateId)?.content;
      if (!content)
        throw new HttpError(400, 'validation_failed', 'Unknown template', { templateId: 'not a starter template' });
    }
    return inTenant(this.#d.orm, actor, async (uow) => {
      await this.#checkRefs(uow, input);
      const c = uow.em.create(CampaignSchema, {
        tenantId: actor.tenantId,
        name: input.name,
        status: 'draft',
        listIds: [...new Set(input.listIds ?? [])],
        mailboxId: input.mailboxId ?? null,
        fromName: input.fromName ?? null,
        fromEmail: input.fromEmail ?? null,
        replyTo: input.replyTo ?? null,
        subject: input.subject ?? '',
        preheader: input.preheader || null,
        content: structuredClone(content ?? BLANK_DOCUMENT),
        variants: [],
        ab: null,
        createdBy: authorOf(actor),
      });
      checkCampaignTokens(c);
      await uow.em.flush();
      return this.view(uow, c);
    });
  }

  async update(actor: Actor, id: string, patch: z.infer<typeof campaignPatch>): Promise<CampaignView> {
    requireWrite(actor);
    try {
      return await inTenant(this.#d.orm, actor, (uow) => this.#update(uow, id, patch));
    } catch (err) {
      if (!isStale(err)) throw err;
      throw await inTenant(this.#d.orm, actor, async (uow) => {
        const current = await this.view(uow, await this.find(uow, id));
        return versionConflict('Campaign', current, { changedBy: null, changedAt: current.updatedAt });
      });
    }
  }

  async #update(uow: UnitOfWork, id: string, patch: z.infer<typeof campaignPatch>): Promise<CampaignView> {
    await this.find(uow, id);
    // Read again under the ORM's lock: the version given is checked now and again at flush.
    const c = await uow.em.findOne(
      CampaignSchema,
      { id },
      { lockMode: LockMode.OPTIMISTIC, lockVersion: patch.version, refresh: true },
    );
    if (!c) throw notFound('Campaign');
    if (!EDITABLE.has(c.status))
      throw new HttpError(409, 'campaign_not_editable', `A ${c.status} campaign cannot be edited`);
    await this.#checkRefs(uow, patch);
    const { version: _version, listIds, ...fields } = patch;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (c as Record<string, unknown>)[k] = v;
    if (listIds) c.listIds = [...new Set(listIds)];
    if (patch.preheader === '') c.preheader = null;
    if (c.ab && c.variants.length < 2)
      throw new HttpError(400, 'validation_failed', 'An A/B test needs variants', {
        ab: 'add at least two variants first',
      });
    checkCampaignTokens(c);
    if (c.status === 'scheduled') {
      const sender = await resolveSender(uow, c, this.#d);
      if (typeof sender === 'string') throw notReady({ fromEmail: sender });
    }
    await uow.em.flush();
    return this.view(uow, c);
  }

  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#d.orm, actor, async (uow) => {
      const c = await this.find(uow, id, true);
      if (c.status !== 'draft')
        throw new HttpError(409, 'invalid_status', 'Only a draft can be deleted: cancel it first if it is scheduled');
      uow.em.remove(c);
      await uow.em.flush();
    });
  }

  duplicate(actor: Actor, id: string): Promise<CampaignView> {
    requireWrite(actor);
    return inTenant(this.#d.orm, actor, async (uow) => {
      const src = await this.find(uow, id);
      const c = uow.em.create(CampaignSchema, {
        tenantId: actor.tenantId,
        name: `${src.name} (copy)`.slice(0, 200),
        status: 'draft',
        listIds: [...src.listIds],
        mailboxId: src.mailboxId ?? null,
        fromName: src.fromName ?? null,
        fromEmail: src.fromEmail ?? null,
        replyTo: src.replyTo ?? null,
        subject: src.subject,
        preheader: src.preheader ?? null,
        content: structuredClone(src.content),
        variants: structuredClone(src.variants),
        ab: src.ab ? { ...src.ab } : null,
        createdBy: authorOf(actor),
      });
      await uow.em.flush();
      return this.view(uow, c);
    });
  }

  /** One variant compiled and merged for a contact of the workspace (else sample values); links as written. */
  async #render(uow: UnitOfWork, c: Campaign, q: { variant?: string | undefined; contactId?: string | undefined }) {
    checkCampaignTokens(c);
    const sources = variantSources(c);
    const source = q.variant ? sources.find((s) => s.key === q.variant) : sources[0];
    if (!source)
      throw new HttpError(400, 'validation_failed', 'No such variant', { variant: 'not a variant of this campaign' });
    let values = { ...SAMPLE_VALUES };
    if (q.contactId) {
      const found = (await contactValues(uow.em, uow.actor.tenantId, [q.contactId])).get(q.contactId);
      if (!found) throw notFound('Contact');
      values = found;
    }
    const compiled = await compileOffThread({ content: source.content, preheader: c.preheader ?? null });
    const prepared = prepareVariant({ key: source.key, subject: source.subject, ...compiled });
    const sender = uow.actor.system ? null : uow.actor.userName;
    const merged = mergeMail(prepared, {
      ...values,
      'user.name': sender,
      'mailbox.name': c.fromName,
      unsubscribe_url: '#',
      preferences_url: '#',
    });
    return { merged, warnings: compiled.warnings };
  }

  preview(actor: Actor, id: string, q: z.infer<typeof previewInput>): Promise<CampaignPreview> {
    return inTenant(this.#d.orm, actor, async (uow) => {
      const { merged, warnings } = await this.#render(uow, await this.find(uow, id), q);
      return { ...merged, warnings };
    });
  }

  /** Copies sent now (not tracked, no unsubscribe) through the campaign's transport; 429 past the hourly budget. */
  async testSend(
    actor: Actor,
    id: string,
    input: z.infer<typeof testSendInput>,
  ): Promise<{ sent: number; transport: string }> {
    requireWrite(actor);
    const to = [...new Set(input.to)];
    const { merged, sender } = await inTenant(this.#d.orm, actor, async (uow) => {
      const c = await this.find(uow, id);
      const resolved = await resolveSender(uow, c, this.#d);
      if (typeof resolved === 'string') throw notReady({ fromEmail: resolved });
      return { ...(await this.#render(uow, c, input)), sender: resolved };
    });
    this.#take(actor.tenantId, to.length);
    let transport = 'outbox';
    for (const address of to) {
      const mail = {
        from: sender.from,
        to: address,
        ...(sender.replyTo ? { replyTo: sender.replyTo } : {}),
        subject: `[Test] ${merged.subject}`,
        html: merged.html,
        text: merged.text,
        ...(sender.mailbox ? { dkim: dkimOf(sender.mailbox, sender.from.address, this.#d.secrets) } : {}),
      };
      const delivery = await this.#d.mailer.deliver(mail, {
        smtp: sender.mailbox ? smtpOf(sender.mailbox, this.#d.secrets) : null,
        tenantId: actor.tenantId,
      });
      transport = delivery.transport;
    }
    return { sent: to.length, transport };
  }

  #take(tenantId: string, n: number) {
    const limit = this.#d.testSendsPerHour ?? 50;
    const entry = this.#tests.current(tenantId);
    if (entry.count + n > limit)
      throw tooMany(
        this.#tests.remainingMs(entry),
        'send_limited',
        (s) => `This workspace has sent too many test copies: try again in ${Math.ceil(s / 60)} min`,
      );
    entry.count += n;
  }
}
