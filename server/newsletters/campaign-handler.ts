import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../../db/orm.ts';
import type { RenderedVariant } from '../../db/entities/campaign.entity.ts';
import { CampaignSchema } from '../../db/entities/campaign.entity.ts';
import type { BulkTokens } from '../delivery/bulk/tokens.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import { inTenant, systemActor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { resolveSender } from './campaign-checks.ts';
import { contactValues, mergeMail, prepareVariant, type PreparedVariant } from './campaign-mail.ts';
import type { BulkHandler, BulkRecipientRow, BulkScope, ComposedMail } from '../delivery/bulk/types.ts';

export interface CampaignHandlerDeps {
  orm: MikroORM;
  mailboxes: MailboxesService;
  activities: ActivitiesService;
  bulkTokens: BulkTokens;
  publicUrl: string;
  inboundDomain: string;
}

/** Prepared variants of the campaigns being sent, by campaign id and start time (a restart compiles nothing). */
const CACHE_SIZE = 32;

/**
 * A campaign as a source of the shared delivery engine: its state for each claim, each claimed recipient's copy
 * (the variant rendered at start, merged with the contact's values, links and pixel tracked), the contacts'
 * timelines when their copy is sent, and the campaign's end.
 */
export class CampaignHandler implements BulkHandler {
  readonly source = 'campaign' as const;
  readonly #d: CampaignHandlerDeps;
  readonly #prepared = new Map<string, Map<string, PreparedVariant>>();

  constructor(deps: CampaignHandlerDeps) {
    this.#d = deps;
  }

  async scope(em: EntityManager, sourceId: string): Promise<BulkScope | null> {
    const [c] = (await em.execute(`select status, list_ids, mailbox_id from campaigns where id = ?`, [sourceId])) as {
      status: string;
      list_ids: string[];
      mailbox_id: string | null;
    }[];
    if (!c) return null;
    const lists = (await em.execute(
      `select bool_or(double_opt_in) as confirmed from mailing_lists where id = any(?::uuid[])`,
      [`{${c.list_ids.join(',')}}`],
    )) as { confirmed: boolean | null }[];
    return {
      state: c.status === 'sending' ? 'active' : c.status === 'paused' ? 'paused' : 'cancelled',
      listIds: c.list_ids,
      requireConfirmed: Boolean(lists[0]?.confirmed),
      mailboxId: c.mailbox_id,
      trackOpens: true,
      trackClicks: true,
    };
  }

  #variants(id: string, startedAt: Date | null | undefined, rendered: RenderedVariant[]): Map<string, PreparedVariant> {
    const key = `${id}:${startedAt?.toISOString() ?? ''}`;
    let found = this.#prepared.get(key);
    if (!found) {
      found = new Map(rendered.map((r) => [r.key, prepareVariant(r)]));
      if (this.#prepared.size >= CACHE_SIZE) this.#prepared.delete(this.#prepared.keys().next().value!);
      this.#prepared.set(key, found);
    }
    return found;
  }

  compose(tenantId: string, sourceId: string, rows: BulkRecipientRow[]): Promise<Map<string, ComposedMail>> {
    return inTenant(this.#d.orm, systemActor(tenantId), async (uow) => {
      const out = new Map<string, ComposedMail>();
      const c = await uow.em.findOne(CampaignSchema, { id: sourceId });
      if (!c?.rendered) return out;
      const sender = await resolveSender(uow, c, this.#d);
      if (typeof sender === 'string') return out;
      const variants = this.#variants(c.id, c.startedAt, c.rendered);
      const contactIds = [...new Set(rows.map((r) => r.contactId).filter((id): id is string => Boolean(id)))];
      const values = await contactValues(uow.em, tenantId, contactIds);
      const author = c.createdBy
        ? ((await uow.em.execute(`select name from users where id = ?`, [c.createdBy])) as { name: string }[])[0]
        : undefined;
      const { publicUrl } = this.#d;
      const sign = this.#d.bulkTokens;
      for (const row of rows) {
        const variant =
          variants.get(row.variant ?? '') ?? (variants.size === 1 ? [...variants.values()][0] : undefined);
        if (!variant) continue;
        const unsubscribe = `${publicUrl}/u/${sign.sign({ sendId: row.id, kind: 'unsubscribe', index: 0 })}`;
        const mail = mergeMail(
          variant,
          {
            ...(row.contactId ? values.get(row.contactId) : undefined),
            'contact.email': row.address,
            'user.name': author?.name ?? c.fromName,
            'mailbox.name': sender.mailbox?.name ?? c.fromName,
            unsubscribe_url: unsubscribe,
            preferences_url: unsubscribe,
          },
          {
            link: (index) => `${publicUrl}/t/b/${sign.sign({ sendId: row.id, kind: 'click', index })}`,
            pixel: `${publicUrl}/t/b/${sign.sign({ sendId: row.id, kind: 'open', index: 0 })}.gif`,
          },
        );
        out.set(row.id, { from: sender.from, ...(sender.replyTo ? { replyTo: sender.replyTo } : {}), ...mail });
      }
      return out;
    });
  }

  /** `campaign.sent` on each recipient contact's timeline, in the transaction that marks the rows sent. */
  async onSent(uow: UnitOfWork, sourceId: string, rows: BulkRecipientRow[]): Promise<void> {
    const withContact = rows.filter((r) => r.contactId);
    if (!withContact.length) return;
    const [c] = (await uow.em.execute(`select name, subject, variants from campaigns where id = ?`, [sourceId])) as {
      name: string;
      subject: string;
      variants: { key: string; subject: string }[];
    }[];
    if (!c) return;
    const companies = (await uow.em.execute(`select id, company_id from contacts where id = any(?::uuid[])`, [
      `{${withContact.map((r) => r.contactId).join(',')}}`,
    ])) as { id: string; company_id: string | null }[];
    const companyOf = new Map(companies.map((r) => [r.id, r.company_id]));
    await this.#d.activities.recordMany(
      uow,
      withContact
        .filter((r) => companyOf.has(r.contactId!))
        .map((r) => {
          const subject = c.variants.find((v) => v.key === r.variant)?.subject ?? c.subject;
          return {
            entityType: 'contact',
            entityId: r.contactId!,
            companyId: companyOf.get(r.contactId!) ?? null,
            type: 'campaign.sent',
            title: `Campaign “${c.name}” sent`,
            data: { campaignId: sourceId, campaignName: c.name, subject, sendId: r.id, variant: r.variant },
            mailboxId: null,
          };
        }),
    );
  }

  /** Every row is terminal: the campaign is sent (a cancelled one stays cancelled). */
  async onFinished(uow: UnitOfWork, sourceId: string): Promise<void> {
    await uow.em.execute(
      `update campaigns set status = case when status = 'cancelled' then status else 'sent' end,
              finished_at = coalesce(finished_at, now()), updated_at = now(), version = version + 1
        where id = ? and status in ('sending', 'paused', 'cancelled')`,
      [sourceId],
    );
  }
}
